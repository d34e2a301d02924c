import Testing

@testable import Protoqueue

/// The decisions over stored tasks a crashed server left where the queue's consumer does not deliver them.
@Suite("Stranded tasks: decisions")
struct StrandedTasksTests {
    private func consumer(delivered: UInt64, floor: UInt64, ackPending: Int64) -> ConsumerState {
        ConsumerState(
            pending: 0, ackPending: ackPending, redelivered: 0, waitingPulls: 0, maxAckPending: 0,
            deliveredSequence: delivered, ackFloorSequence: floor)
    }

    @Test func theFloorIsEverythingDeliveredWhenNothingAwaitsAnAcknowledgement() {
        #expect(StrandedTasks.floor(of: consumer(delivered: 815, floor: 2, ackPending: 0)) == 815)
        #expect(StrandedTasks.floor(of: consumer(delivered: 815, floor: 2, ackPending: 3)) == 2)
    }

    @Test func theFirstMessageIsReadOnlyWhenTheFloorReachesTheStream() {
        #expect(
            !StrandedTasks.needsFirstMessage(
                streamFirst: 11, consumer: consumer(delivered: 10, floor: 10, ackPending: 0)))
        #expect(
            StrandedTasks.needsFirstMessage(
                streamFirst: 10, consumer: consumer(delivered: 10, floor: 10, ackPending: 0)))
        #expect(
            !StrandedTasks.needsFirstMessage(streamFirst: 5, consumer: consumer(delivered: 10, floor: 4, ackPending: 1))
        )
        // An empty stream reports its first sequence one past its last.
        #expect(
            !StrandedTasks.needsFirstMessage(streamFirst: 1, consumer: consumer(delivered: 0, floor: 0, ackPending: 0)))
    }

    @Test(
        arguments: [
            // A healthy consumer: the first message on its filter lies above what it finished.
            (last: 20, delivered: 12, floor: 12, ackPending: 0, first: 13, expected: nil),
            (last: 20, delivered: 20, floor: 12, ackPending: 2, first: 13, expected: nil),
            (last: 20, delivered: 12, floor: 12, ackPending: 0, first: nil, expected: nil),
            // A removal lost: the message stays at or below the floor.
            (
                last: 20, delivered: 12, floor: 12, ackPending: 0, first: 12,
                expected: StrandedTasks.Finding.belowFloor(sequence: 12, floor: 12)
            ),
            (last: 20, delivered: 20, floor: 9, ackPending: 2, first: 4, expected: .belowFloor(sequence: 4, floor: 9)),
            // Delivered but unacknowledged messages above the floor are the consumer's own.
            (last: 20, delivered: 20, floor: 9, ackPending: 2, first: 10, expected: nil),
            // The stream lost its tail: the consumer skips new messages up to what it delivered.
            (last: 2, delivered: 5, floor: 5, ackPending: 0, first: 1, expected: .consumerAhead(delivered: 5, last: 2)),
            (
                last: 0, delivered: 5, floor: 5, ackPending: 0, first: nil,
                expected: .consumerAhead(delivered: 5, last: 0)
            ),
        ]
            as [(
                last: UInt64, delivered: UInt64, floor: UInt64, ackPending: Int64, first: UInt64?,
                expected: StrandedTasks.Finding?
            )])
    func findings(
        _ row: (
            last: UInt64, delivered: UInt64, floor: UInt64, ackPending: Int64, first: UInt64?,
            expected: StrandedTasks.Finding?
        )
    ) {
        let found = StrandedTasks.finding(
            streamLast: row.last,
            consumer: consumer(delivered: row.delivered, floor: row.floor, ackPending: row.ackPending),
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
