import Foundation
import Logging
import NATSTestSupport
import Protoqueue
import Synchronization
import TaskSchemas
import Testing

/// The worker sends its own pull requests: the server's answers to them (expiry, a consumer that went away) must
/// neither stall it nor crash it; a consumer deleted under it is re-created, and a deleted stream ends it.
@Suite("Pull requests", .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct PullRequestTests {
    @Test func anIdleWorkerPullsAgainAsEachRequestExpiresSoANewTaskStartsAtOnce() async throws {
        try await withProcessingFixture { fixture in
            let started = Recorder<ContinuousClock.Instant>()
            let options = ProcessOptions(concurrency: 4, fetchTimeout: .milliseconds(50))
            try await withProcessor(fixture.queue, options: options) { _, _ in
                started.record(.now)
                return .success
            } body: {
                // About six requests expire meanwhile (a 408 each), and each is replaced at once: a worker that
                // stopped pulling when idle would never start the task. The bound is loose (the suite runs on 2
                // loaded cores): a replacement that waited for a missing 408 would add at most 1.5 fetch timeouts.
                try await Task.sleep(for: .milliseconds(300))
                let enqueuedAt = ContinuousClock.now
                try await fixture.enqueue(1, prefix: "after-idle")
                #expect(await eventually(timeout: .seconds(3)) { started.count == 1 })
                if let first = started.all.first {
                    #expect(
                        first - enqueuedAt < .milliseconds(900),
                        "the task waited \(first - enqueuedAt) for a pull request"
                    )
                }
            }
        }
    }

    @Test func aWorkerWhoseConsumerIsMissingFailsAtStartNamingIt() async throws {
        try await withProcessingFixture { fixture in
            let layout = fixture.queue.layout
            try fixture.raw.deleteConsumer(stream: layout.streamName, consumer: layout.consumerName)
            let error = await #expect(throws: ProtoqueueError.self) {
                try await fixture.queue.process(options: .init(concurrency: 2)) { _, _ in .success }
            }
            #expect(error?.code == .streamNotFound, "\(String(describing: error))")
            #expect(error?.message.contains(layout.consumerName) == true, "\(String(describing: error))")
        }
    }

    @Test func aConsumerDeletedUnderARunningWorkerIsRecreatedAndTheWorkerGoesOn() async throws {
        try await withProcessingFixture { fixture in
            let store = CapturingLogHandler.Store()
            let logger = Logger(label: "pull-tests") { _ in CapturingLogHandler(store: store) }
            let queue = try await Queue<EmailTask>(
                connection: fixture.connection, name: fixture.queue.name, configuration: fixture.queue.configuration,
                logger: logger
            )
            let done = Recorder<String>()
            let worker = Task {
                try await queue.process(options: .init(concurrency: 2, fetchTimeout: .seconds(2))) { task, _ in
                    done.record(task.to)
                    return .success
                }
            }
            // Delete the consumer while one of the worker's requests waits on it (the server then ends that request
            // with "409 Consumer Deleted").
            #expect(await eventually(timeout: .seconds(5)) { ((try? await queue.stats().waitingPulls) ?? 0) >= 1 })
            try fixture.raw.deleteConsumer(stream: queue.layout.streamName, consumer: queue.layout.consumerName)
            #expect(
                await eventually(timeout: .seconds(5)) {
                    store.messages.contains { $0.hasPrefix("warning consumer was deleted") }
                },
                "\(store.messages)"
            )
            // The re-created consumer serves the worker: tasks enqueued now are processed.
            try await fixture.enqueue(3, prefix: "after-delete")
            #expect(await eventually(timeout: .seconds(5)) { done.count == 3 }, "processed \(done.all)")
            let cancelAt = ContinuousClock.now
            worker.cancel()
            try await worker.value
            // Stopping waits for the open request's end (at most 1.5 fetch timeouts and a grace, 4 s; the full suite
            // on two loaded cores once took 5.07 s).
            #expect(ContinuousClock.now - cancelAt < .seconds(7))
        }
    }

    @Test func aWorkerWhoseStreamIsDeletedUnderItEndsWithAnErrorNamingTheConsumer() async throws {
        try await withProcessingFixture { fixture in
            let queue = fixture.queue
            let worker = Task {
                try await queue.process(options: .init(concurrency: 2, fetchTimeout: .seconds(2))) { _, _ in .success }
            }
            #expect(await eventually(timeout: .seconds(5)) { ((try? await queue.stats().waitingPulls) ?? 0) >= 1 })
            let deletedAt = ContinuousClock.now
            try fixture.raw.deleteStream(queue.layout.streamName)
            // Without the stream the consumer cannot be re-created: process() ends by itself, within seconds.
            let result = await worker.result
            #expect(ContinuousClock.now - deletedAt < .seconds(5))
            let error = #expect(throws: ProtoqueueError.self) { try result.get() }
            #expect(error?.code == .streamNotFound, "\(String(describing: error))")
            #expect(
                error?.message.contains("consumer \"\(queue.layout.consumerName)\"") == true,
                "\(String(describing: error))"
            )
        }
    }
}
