/// Tasks a crashed server can leave stored where the queue's consumer never delivers them, as pure decisions over
/// what the server reports. nats-server keeps a consumer's state and a stream's messages apart, and a `kill -9` or a
/// power cut can leave the two out of step:
/// - a task's removal after its acknowledgement is lost while the consumer keeps the acknowledgement: the message
///   stays at or below the consumer's floor, which the consumer never looks below again;
/// - the stream loses its last messages and hands their sequences out again while the consumer has delivered past
///   them (nats-server 2.9): it skips every new message up to the sequence it delivered;
/// - in a cluster, the consumer's leader counts nothing pending while the stream's leader stores messages on its
///   filter past everything it delivered (nats-server 2.9.10, after its consumer leader was killed: 2 to 277 of 3,000
///   tasks stayed undelivered in the chaos scenario `cluster`).
///
/// ``StrandedWatch`` looks and recovers; `StrandedTasksTests` covers every case.
enum StrandedTasks {
    /// What one look found stranded.
    enum Finding: Equatable, CustomStringConvertible {
        /// The message at `sequence` is still stored although the consumer counts everything up to `floor` as
        /// acknowledged.
        case belowFloor(sequence: UInt64, floor: UInt64)
        /// The consumer has delivered up to `delivered`, past the stream's `last` sequence.
        case consumerAhead(delivered: UInt64, last: UInt64)
        /// The message at `sequence` is stored past everything the consumer delivered (`delivered`), yet the
        /// consumer counts nothing pending and nothing awaiting an acknowledgement.
        case notPending(sequence: UInt64, delivered: UInt64)

        var description: String {
            switch self {
            case .belowFloor(let sequence, let floor):
                "message \(sequence) is still stored below the consumer's acknowledged floor \(floor)"
            case .consumerAhead(let delivered, let last):
                "the consumer delivered up to sequence \(delivered), past the stream's last sequence \(last)"
            case .notPending(let sequence, let delivered):
                "message \(sequence) is stored past the consumer's delivered sequence \(delivered), yet the consumer "
                    + "counts nothing pending"
            }
        }
    }

    /// The sequence up to which the consumer counts every message on its filter as done: everything it delivered
    /// when nothing awaits an acknowledgement, else its acknowledged floor.
    static func floor(of consumer: ConsumerState) -> UInt64 {
        consumer.ackPending == 0 ? consumer.deliveredSequence : consumer.ackFloorSequence
    }

    /// Whether a look must read the first message on the consumer's filter: when the floor reaches the stream, or
    /// when the consumer counts nothing pending or awaiting an acknowledgement while the stream holds messages past
    /// what it delivered (on its filter or another).
    static func needsFirstMessage(streamFirst: UInt64, streamLast: UInt64, consumer: ConsumerState) -> Bool {
        floor(of: consumer) >= streamFirst || (isIdle(consumer) && streamLast > consumer.deliveredSequence)
    }

    private static func isIdle(_ consumer: ConsumerState) -> Bool {
        consumer.pending == 0 && consumer.ackPending == 0
    }

    /// What is stranded, given the stream's last sequence, the consumer's state and the sequence of the first
    /// message stored on the consumer's filter (`nil` when there is none or it was not read); `nil` when nothing is.
    static func finding(streamLast: UInt64, consumer: ConsumerState, firstOnFilter: UInt64?) -> Finding? {
        if consumer.deliveredSequence > streamLast {
            return .consumerAhead(delivered: consumer.deliveredSequence, last: streamLast)
        }
        let floor = floor(of: consumer)
        guard let first = firstOnFilter else { return nil }
        if first <= floor { return .belowFloor(sequence: first, floor: floor) }
        if first > consumer.deliveredSequence && isIdle(consumer) {
            return .notPending(sequence: first, delivered: consumer.deliveredSequence)
        }
        return nil
    }

    /// Whether to recover: the same finding at two looks in a row. A replicated stream removes an acknowledged
    /// message shortly after the consumer's floor passed it, so one look proves nothing.
    static func confirmed(_ finding: Finding?, previous: Finding?) -> Bool {
        finding != nil && finding == previous
    }
}
