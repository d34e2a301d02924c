import Testing

@testable import Protoqueue

/// The decisions over stored tasks a crashed server left where the queue's consumer does not deliver them.
@Suite("Stranded tasks: decisions")
struct StrandedTasksTests {
    private func consumer(delivered: UInt64, floor: UInt64, ackPending: Int64, pending: UInt64 = 0) -> ConsumerState {
        ConsumerState(
            pending: pending, ackPending: ackPending, redelivered: 0, waitingPulls: 0, maxAckPending: 0,
            deliveredSequence: delivered, ackFloorSequence: floor)
    }

    @Test func theFloorIsEverythingDeliveredWhenNothingAwaitsAnAcknowledgement() {
        #expect(StrandedTasks.floor(of: consumer(delivered: 815, floor: 2, ackPending: 0)) == 815)
        #expect(StrandedTasks.floor(of: consumer(delivered: 815, floor: 2, ackPending: 3)) == 2)
    }

    @Test(
        arguments: [
            // The floor reaches the stream.
            (first: 10, last: 20, delivered: 10, floor: 10, ackPending: 0, pending: 10, reads: true),
            (first: 11, last: 20, delivered: 10, floor: 10, ackPending: 0, pending: 10, reads: false),
            (first: 5, last: 20, delivered: 10, floor: 4, ackPending: 1, pending: 10, reads: false),
            // Nothing pending or awaiting an acknowledgement, yet messages stored past what was delivered.
            (first: 11, last: 20, delivered: 10, floor: 10, ackPending: 0, pending: 0, reads: true),
            (first: 11, last: 10, delivered: 10, floor: 10, ackPending: 0, pending: 0, reads: false),
            (first: 5, last: 20, delivered: 10, floor: 4, ackPending: 1, pending: 0, reads: false),
            // An empty stream reports its first sequence one past its last.
            (first: 1, last: 0, delivered: 0, floor: 0, ackPending: 0, pending: 0, reads: false),
        ]
            as [(
                first: UInt64, last: UInt64, delivered: UInt64, floor: UInt64, ackPending: Int64, pending: UInt64,
                reads: Bool
            )])
    func theFirstMessageIsReadWhenTheFloorReachesTheStreamOrNothingIsPending(
        _ row: (
            first: UInt64, last: UInt64, delivered: UInt64, floor: UInt64, ackPending: Int64, pending: UInt64,
            reads: Bool
        )
    ) {
        let state = consumer(
            delivered: row.delivered, floor: row.floor, ackPending: row.ackPending, pending: row.pending)
        #expect(
            StrandedTasks.needsFirstMessage(streamFirst: row.first, streamLast: row.last, consumer: state) == row.reads)
    }

    typealias FindingRow = (
        last: UInt64, delivered: UInt64, floor: UInt64, ackPending: Int64, pending: UInt64, first: UInt64?,
        expected: StrandedTasks.Finding?
    )

    @Test(
        arguments: [
            // A healthy consumer: the first message on its filter lies above what it finished, and is pending.
            (last: 20, delivered: 12, floor: 12, ackPending: 0, pending: 8, first: 13, expected: nil),
            (last: 20, delivered: 20, floor: 12, ackPending: 2, pending: 0, first: 13, expected: nil),
            (last: 20, delivered: 12, floor: 12, ackPending: 0, pending: 0, first: nil, expected: nil),
            // A removal lost: the message stays at or below the floor.
            (
                last: 20, delivered: 12, floor: 12, ackPending: 0, pending: 8, first: 12,
                expected: StrandedTasks.Finding.belowFloor(sequence: 12, floor: 12)
            ),
            (
                last: 20, delivered: 20, floor: 9, ackPending: 2, pending: 0, first: 4,
                expected: .belowFloor(sequence: 4, floor: 9)
            ),
            // Delivered but unacknowledged messages above the floor are the consumer's own.
            (last: 20, delivered: 20, floor: 9, ackPending: 2, pending: 0, first: 10, expected: nil),
            // The stream lost its tail: the consumer skips new messages up to what it delivered.
            (
                last: 2, delivered: 5, floor: 5, ackPending: 0, pending: 0, first: 1,
                expected: .consumerAhead(delivered: 5, last: 2)
            ),
            (
                last: 0, delivered: 5, floor: 5, ackPending: 0, pending: 0, first: nil,
                expected: .consumerAhead(delivered: 5, last: 0)
            ),
            // A consumer leader that counts nothing pending past what it delivered, with messages stored there.
            (
                last: 3000, delivered: 2723, floor: 2723, ackPending: 0, pending: 0, first: 2724,
                expected: .notPending(sequence: 2724, delivered: 2723)
            ),
            // ... but not while it has tasks out, which it may be about to settle.
            (last: 3000, delivered: 2723, floor: 2700, ackPending: 5, pending: 0, first: 2724, expected: nil),
        ] as [FindingRow])
    func findings(_ row: FindingRow) {
        let found = StrandedTasks.finding(
            streamLast: row.last,
            consumer: consumer(
                delivered: row.delivered, floor: row.floor, ackPending: row.ackPending, pending: row.pending),
            firstOnFilter: row.first)
        #expect(found == row.expected)
    }

    @Test func onlyTheSameFindingTwiceInARowIsConfirmed() {
        let finding = StrandedTasks.Finding.belowFloor(sequence: 4, floor: 9)
        #expect(StrandedTasks.confirmed(finding, previous: finding))
        #expect(!StrandedTasks.confirmed(finding, previous: nil))
        #expect(!StrandedTasks.confirmed(finding, previous: .belowFloor(sequence: 3, floor: 9)))
        #expect(!StrandedTasks.confirmed(finding, previous: .belowFloor(sequence: 4, floor: 10)))
        #expect(!StrandedTasks.confirmed(nil, previous: nil))
        #expect(!StrandedTasks.confirmed(nil, previous: finding))
    }
}
