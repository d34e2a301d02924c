import Foundation
import Logging
import NATSTestSupport
import Protoqueue
import ServiceLifecycle
import Synchronization
import TaskSchemas
import Testing

@Suite("Graceful shutdown", .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct ShutdownTests {
    @Test func gracefulShutdownLetsInFlightHandlersFinishAndLosesNothing() async throws {
        try await withProcessingFixture(ackWait: .seconds(2)) { fixture in
            let ids = try await fixture.enqueue(40, prefix: "drain")
            let started = Recorder<TaskID>()
            let finished = Recorder<TaskID>()
            let cancelled = Recorder<TaskID>()
            let processor = fixture.queue.processor(
                options: .init(concurrency: 8, fetchTimeout: .milliseconds(200), shutdownTimeout: .seconds(5))
            ) { _, context in
                started.record(context.id)
                do {
                    try await Task.sleep(for: .milliseconds(300))
                } catch {
                    cancelled.record(context.id)
                    throw error
                }
                finished.record(context.id)
                return .success
            }
            let group = ServiceGroup(services: [processor], logger: testLogger())
            let running = Task { try await group.run() }
            #expect(await eventually { started.count >= 8 })
            await group.triggerGracefulShutdown()
            try await running.value
            // Every handler that started was allowed to finish.
            #expect(cancelled.count == 0)
            #expect(Set(started.all) == Set(finished.all))
            let processedFirst = Set(finished.all)
            #expect(processedFirst.count < 40)

            // Nothing lost: the rest is still in the stream and a second worker gets exactly the rest.
            let rest = Recorder<TaskID>()
            try await withProcessor(fixture.queue, options: .init(concurrency: 8, fetchTimeout: .milliseconds(200))) {
                _, context in
                rest.record(context.id)
                return .success
            } body: {
                #expect(await eventually(timeout: .seconds(15)) { (try? await fixture.queue.stats().messages) == 0 })
            }
            #expect(processedFirst.union(rest.all) == Set(ids))
            #expect(processedFirst.isDisjoint(with: Set(rest.all)))
        }
    }

    @Test func shutdownTimeoutCancelsSlowHandlersAndTheirTasksComeBack() async throws {
        try await withProcessingFixture(maxDeliveries: 5, ackWait: .seconds(2)) { fixture in
            let ids = try await fixture.enqueue(6, prefix: "slow")
            let started = Recorder<TaskID>()
            let cancelled = Recorder<TaskID>()
            let processor = fixture.queue.processor(
                options: .init(concurrency: 3, fetchTimeout: .milliseconds(200), shutdownTimeout: .milliseconds(300))
            ) { _, context in
                started.record(context.id)
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    cancelled.record(context.id)
                    throw error
                }
                return .success
            }
            let group = ServiceGroup(services: [processor], logger: testLogger())
            let running = Task { try await group.run() }
            #expect(await eventually { started.count == 3 })
            let stopAt = ContinuousClock.now
            await group.triggerGracefulShutdown()
            try await running.value
            #expect(ContinuousClock.now - stopAt < .seconds(3))
            #expect(Set(cancelled.all) == Set(started.all))

            let all = Recorder<(TaskID, Int)>()
            try await withProcessor(fixture.queue) { _, context in
                all.record((context.id, context.attempt))
                return .success
            } body: {
                #expect(await eventually(timeout: .seconds(15)) { (try? await fixture.queue.stats().messages) == 0 })
            }
            #expect(Set(all.all.map(\.0)) == Set(ids))
            #expect(try await fixture.queue.stats().deadLetters == 0)
            // The cancelled ones were returned at once (-NAK), so they come back as attempt 2.
            for id in cancelled.all {
                #expect(all.all.contains { $0.0 == id && $0.1 == 2 })
            }
        }
    }

    @Test func cancellingProcessReturnsPromptly() async throws {
        try await withProcessingFixture { fixture in
            let worker = Task {
                try await fixture.queue.process(options: .init(concurrency: 2, fetchTimeout: .milliseconds(500))) {
                    _, _ in .success
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            let cancelAt = ContinuousClock.now
            worker.cancel()
            try await worker.value
            // About 0.1-0.2 s alone; the bound leaves room for a machine loaded by the rest of the suite (1.66 s seen
            // on 2 cores) while still catching a wait for an ack wait or a pull that never ends.
            #expect(ContinuousClock.now - cancelAt < .milliseconds(2500))
        }
    }

    @Test func invalidOptionsAreRejected() async throws {
        try await withProcessingFixture { fixture in
            await #expect(throws: ProtoqueueError.self) {
                try await fixture.queue.process(options: .init(concurrency: 0)) { _, _ in .success }
            }
            await #expect(throws: ProtoqueueError.self) {
                try await fixture.queue.process(options: .init(fetchTimeout: .milliseconds(1))) { _, _ in .success }
            }
        }
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test func fixedExplicitAndExponentialDelays() {
        #expect(RetryPolicy.fixed(.seconds(3)).delay(afterAttempt: 7) == .seconds(3))
        let explicit = RetryPolicy.explicit([.seconds(1), .seconds(5)])
        #expect(explicit.delay(afterAttempt: 1) == .seconds(1))
        #expect(explicit.delay(afterAttempt: 2) == .seconds(5))
        #expect(explicit.delay(afterAttempt: 9) == .seconds(5))
        #expect(RetryPolicy.explicit([]).delay(afterAttempt: 1) == .zero)
        let exponential = RetryPolicy.exponential(
            initial: .milliseconds(100), multiplier: 2, maximum: .seconds(1), jitter: 0)
        #expect(exponential.delay(afterAttempt: 1) == .milliseconds(100))
        #expect(exponential.delay(afterAttempt: 3) == .milliseconds(400))
        #expect(exponential.delay(afterAttempt: 10) == .seconds(1))
        #expect(exponential.delay(afterAttempt: 1000) == .seconds(1))
    }

    @Test func jitterStaysWithinItsBoundsAndSpreads() {
        let policy = RetryPolicy.exponential(initial: .seconds(10), multiplier: 2, maximum: .seconds(60), jitter: 0.2)
        var delays = Set<Duration>()
        for _ in 0..<200 {
            let delay = policy.delay(afterAttempt: 1)
            #expect(delay >= .seconds(8) && delay <= .seconds(12))
            delays.insert(delay)
        }
        #expect(delays.count > 50)
    }
}

@Suite(
    "Closing the connection under a worker",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct CloseUnderWorkerTests {
    @Test func closeStopsTheWorkerWhichSettlesItsTasksFirst() async throws {
        let fixture = try await ProcessingFixture.make(ackWait: .seconds(30))
        try await fixture.enqueue(3, prefix: "closing")
        let finished = Recorder<TaskID>()
        let started = Recorder<TaskID>()
        let worker = Task {
            try await fixture.queue.process(options: .init(concurrency: 3, fetchTimeout: .milliseconds(200))) {
                _, context in
                started.record(context.id)
                try? await Task.sleep(for: .milliseconds(300))
                finished.record(context.id)
                return .success
            }
        }
        #expect(await eventually { started.count == 3 })
        let closeAt = ContinuousClock.now
        await fixture.connection.close()
        #expect(ContinuousClock.now - closeAt < .seconds(5))
        let outcome = await worker.result
        #expect(throws: ProtoqueueError.self) { try outcome.get() }
        #expect(finished.count == 3)
        // The three acknowledgements went out before the connection drained: nothing comes back.
        #expect(try fixture.raw.messageCount(stream: fixture.queue.layout.streamName) == 0)
    }
}
