import Logging
import NATSTestSupport
import Protoqueue
import TaskSchemas
import Testing

@testable import Protoqueue

/// When a worker says that the consumer's ack-pending limit keeps tasks from it.
@Suite("Ack-pending limit")
struct AckPendingWatchTests {
    @Test func blockedOnlyWhileTasksWaitAndTheLimitIsReached() {
        #expect(AckPendingWatch.isBlocked(pending: 1, ackPending: 20, maxAckPending: 20))
        #expect(AckPendingWatch.isBlocked(pending: 9, ackPending: 21, maxAckPending: 20))
        // Nothing waits: a full consumer is just busy.
        #expect(!AckPendingWatch.isBlocked(pending: 0, ackPending: 20, maxAckPending: 20))
        // Below the limit.
        #expect(!AckPendingWatch.isBlocked(pending: 5, ackPending: 19, maxAckPending: 20))
        // Unlimited.
        #expect(!AckPendingWatch.isBlocked(pending: 5, ackPending: 1_000_000, maxAckPending: 0))
        #expect(!AckPendingWatch.isBlocked(pending: 5, ackPending: 1_000_000, maxAckPending: -1))
    }

    @Test func theWaitDoublesWhileTheConsumerIsIdleAndShortensAfterDeliveries() {
        let first = AckPendingWatch.firstInterval
        #expect(first == .seconds(30))
        #expect(AckPendingWatch.nextInterval(after: first, blocked: false, flowing: false) == .seconds(60))
        #expect(AckPendingWatch.nextInterval(after: .seconds(240), blocked: false, flowing: false) == .seconds(300))
        #expect(AckPendingWatch.nextInterval(after: .seconds(300), blocked: false, flowing: false) == .seconds(300))
        #expect(AckPendingWatch.nextInterval(after: .seconds(300), blocked: true, flowing: false) == first)
        #expect(AckPendingWatch.nextInterval(after: .seconds(300), blocked: false, flowing: true) == .seconds(5))
        #expect(AckPendingWatch.nextInterval(after: .seconds(5), blocked: false, flowing: false) == .seconds(10))
    }

    @Test func statsSayWhetherTheLimitIsReached() {
        func stats(pending: UInt64, ackPending: Int64) -> QueueStats {
            QueueStats(
                messages: 0, bytes: 0, firstSequence: 0, lastSequence: 0, consumerCount: 2, pending: pending,
                ackPending: ackPending, redelivered: 0, waitingPulls: 0, deadLetters: 0, maxAckPending: 2)
        }
        #expect(stats(pending: 1, ackPending: 2).isAckPendingLimitReached)
        #expect(!stats(pending: 0, ackPending: 2).isAckPendingLimitReached)
        #expect(!stats(pending: 1, ackPending: 1).isAckPendingLimitReached)
    }
}

/// A worker whose consumer's ack-pending set is full of tasks waiting in place says so.
@Suite("Ack-pending limit on a real server")
struct AckPendingLimitLogTests {
    @Test func aWorkerStarvedByTheAckPendingLimitLogsIt() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            var configuration = QueueConfiguration(consumer: .init(maxDeliveries: 3, maxAckPending: 2))
            configuration.retry = .fixed(.seconds(60))
            let name = uniqueName("starved")
            let made = try await Queue<EmailTask>(
                connection: connection, name: name, configuration: configuration, logger: testLogger())
            // Without the scheduled-task consumer, retries wait in place and hold the two slots.
            let raw = try RawNATS(url: try await SharedServer.url())
            try raw.deleteConsumer(stream: made.layout.streamName, consumer: made.layout.scheduledConsumerName)
            let store = CapturingLogHandler.Store()
            let queue = try await Queue<EmailTask>(
                connection: connection, name: name, configuration: configuration, provisioning: .none,
                logger: Logger(label: "capture") { _ in CapturingLogHandler(store: store) })
            for index in 0..<4 { _ = try await queue.enqueue(EmailTask(to: "\(index)")) }
            let runs = Recorder<Int>()
            try await withProcessor(queue) { _, _ in
                runs.record(1)
                return .retry
            } body: {
                #expect(await eventually { runs.count == 2 })
                #expect(
                    await eventually(timeout: .seconds(60)) {
                        store.messages.contains { $0.hasPrefix("warning no deliveries: the consumer's ack-pending") }
                    }, "\(store.messages)")
                #expect((try? await queue.stats())?.isAckPendingLimitReached == true)
            }
            #expect(runs.count == 2)
        }
    }
}
