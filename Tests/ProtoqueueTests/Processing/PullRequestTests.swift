import Foundation
import Logging
import Protoqueue
import Synchronization
import TaskSchemas
import Testing

/// The worker sends its own pull requests: the server's answers to them (expiry, a consumer that went away) must
/// neither stall it nor crash it, and a consumer deleted under it is reported.
@Suite("Pull requests", .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct PullRequestTests {
    @Test func anIdleWorkerPullsAgainAsEachRequestExpiresSoANewTaskStartsAtOnce() async throws {
        try await withProcessingFixture { fixture in
            let started = Recorder<ContinuousClock.Instant>()
            try await withProcessor(fixture.queue, options: .init(concurrency: 4, fetchTimeout: .milliseconds(50))) { _, _ in
                started.record(.now)
                return .success
            } body: {
                // About six requests expire meanwhile (a 408 each). If an expiry were not noticed, the worker would wait
                // for the ledger's one-second grace before pulling again.
                try await Task.sleep(for: .milliseconds(300))
                let enqueuedAt = ContinuousClock.now
                try await fixture.enqueue(1, prefix: "after-idle")
                #expect(await eventually(timeout: .seconds(3)) { started.count == 1 })
                if let first = started.all.first {
                    #expect(first - enqueuedAt < .milliseconds(500), "the task waited \(first - enqueuedAt) for a pull request")
                }
            }
        }
    }

    @Test func aWorkerWhoseConsumerIsMissingFailsAtStartNamingIt() async throws {
        try await withProcessingFixture { fixture in
            try fixture.raw.deleteConsumer(stream: fixture.queue.layout.streamName, consumer: fixture.queue.layout.consumerName)
            let error = await #expect(throws: ProtoqueueError.self) {
                try await fixture.queue.process(options: .init(concurrency: 2)) { _, _ in .success }
            }
            #expect(error?.code == .streamNotFound, "\(String(describing: error))")
            #expect(error?.message.contains(fixture.queue.layout.consumerName) == true, "\(String(describing: error))")
        }
    }

    @Test func aConsumerDeletedUnderARunningWorkerIsReportedAndCancellingStillStopsIt() async throws {
        try await withProcessingFixture { fixture in
            let store = CapturingLogHandler.Store()
            let logger = Logger(label: "pull-tests") { _ in CapturingLogHandler(store: store) }
            let queue = try await Queue<EmailTask>(
                connection: fixture.connection, name: fixture.queue.name, configuration: fixture.queue.configuration, logger: logger
            )
            let worker = Task { try await queue.process(options: .init(concurrency: 2, fetchTimeout: .seconds(2))) { _, _ in .success } }
            // Delete the consumer while one of the worker's requests waits on it (the server then ends that request).
            #expect(await eventually(timeout: .seconds(5)) { ((try? await queue.stats().waitingPulls) ?? 0) >= 1 })
            try fixture.raw.deleteConsumer(stream: queue.layout.streamName, consumer: queue.layout.consumerName)
            // The waiting request ends with "409 Consumer Deleted", which the worker reports; later requests go
            // unanswered and are given up at their expiry.
            #expect(await eventually(timeout: .seconds(5)) { store.messages.contains { $0.hasPrefix("warning the server ended a pull request") } }, "\(store.messages)")
            let cancelAt = ContinuousClock.now
            worker.cancel()
            try await worker.value
            // Stopping waits for the open request's expiry (the fetch timeout) at most.
            #expect(ContinuousClock.now - cancelAt < .seconds(4))
        }
    }
}
