import CoreMetrics
import Foundation
import MetricsTestKit
import Protoqueue
import ServiceLifecycle
import TaskSchemas
import Testing

/// `QueueMetrics` and `QueueGaugePoller`, recorded into swift-metrics' `TestMetrics`, on both transports.
@Suite("Metrics")
struct QueueMetricsTests {
    /// Runs one task per handler result (subjects `ok`, `fail`, `drop`, `flaky`: throws once, then succeeds) and one
    /// undecodable task through a worker whose queue has `QueueMetrics`.
    @Test(arguments: Backend.available)
    func everyOutcomeIsTimedAndCounted(_ backend: Backend) async throws {
        let metrics = TestMetrics()
        try await withBackend(backend, middleware: [QueueMetrics(factory: metrics)]) { env in
            for subject in ["ok", "fail", "drop", "flaky"] {
                _ = try await env.queue.enqueue(EmailTask(to: "x@example.com", subject: subject))
            }
            try env.publishRaw(body: [0xFF, 0xFF], headers: foreignHeaders(id: "garbage"))
            let runs = Recorder<String>()
            try await withProcessor(env.queue) { task, context in
                runs.record(task.subject)
                switch task.subject {
                case "ok": return .success
                case "fail": return .failure("bad input", details: [:])
                case "drop": return .discard(reason: "not wanted")
                default:
                    if context.attempt == 1 { throw TaskFailure("flaky") }
                    return .success
                }
            } body: {
                #expect(await eventually { runs.count == 4 })
                await env.settle()
                await env.advance(by: .milliseconds(400))
                #expect(await eventually { runs.count == 5 })
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
                await env.settle()
            }
            let queue = ("queue", env.queue.name)
            let type = ("task_type", EmailTask.protoMessageName)
            func timed(_ outcome: String) -> Int {
                metrics.timers(label: "messaging.process.duration", dimensions: [queue, type, ("outcome", outcome)])
                    .map(\.values.count).reduce(0, +)
            }
            #expect(timed("success") == 2)
            #expect(timed("failure") == 1)
            #expect(timed("discard") == 1)
            #expect(timed("error") == 1)
            #expect(timed("retry") == 0)
            func settled(_ outcome: String, _ reason: String = "none") -> Int64 {
                metrics.counterTotal(
                    label: "protoqueue.tasks.settled",
                    dimensions: [queue, type, ("outcome", outcome), ("reason", reason)])
            }
            #expect(settled("acknowledged") == 2)
            #expect(settled("retried") == 1)
            #expect(settled("dead_lettered", "failed") == 1)
            #expect(settled("dead_lettered", "decode") == 1)
            #expect(settled("terminated") == 1)
            #expect(metrics.counterTotal(label: "messaging.client.consumed.messages", dimensions: [queue, type]) == 6)
            // First attempts of handled tasks only: ok, fail, drop, flaky.
            let waits = try metrics.expectTimer("protoqueue.queue.wait", [queue, type]).values
            #expect(waits.count == 4)
            #expect(waits.allSatisfy { $0 >= 0 && $0 < 60_000_000_000 })
            let inFlight = try metrics.expectMeter("protoqueue.tasks.in_flight", [queue, type])
            #expect(inFlight.values.max() ?? 0 >= 1)
            #expect(inFlight.lastValue == 0)
        }
    }

    /// Single enqueues (one stored, one duplicate, one refused before sending), an array batch and a streamed batch
    /// with one invalid task each; then the worker's settlements.
    @Test(arguments: Backend.available)
    func sendsAndSettlementsAreCountedAndTimed(_ backend: Backend) async throws {
        let metrics = TestMetrics()
        try await withBackend(backend, middleware: [QueueMetrics(factory: metrics)]) { env in
            let task = EmailTask(to: "x@example.com")
            let invalid = EnqueueOptions(metadata: ["not a key": "x"])
            _ = try await env.queue.enqueue(task, options: EnqueueOptions(id: "same"))
            let duplicate = try await env.queue.enqueue(task, options: EnqueueOptions(id: "same"))
            #expect(duplicate.duplicate)
            await #expect(throws: ProtoqueueError.self) { try await env.queue.enqueue(task, options: invalid) }
            let items = [EnqueueItem(task), EnqueueItem(task, options: invalid), EnqueueItem(task)]
            let results = try await env.queue.enqueueBatch(items)
            #expect(results.filter { (try? $0.get()) != nil }.count == 2)
            let summary = try await env.queue.enqueueBatch(
                from: AsyncStream { continuation in
                    for item in items { continuation.yield(item) }
                    continuation.finish()
                })
            #expect(summary.succeeded == 2 && summary.failed == 1)

            let queue = ("queue", env.queue.name)
            let type = ("task_type", EmailTask.protoMessageName)
            let sent = "messaging.client.sent.messages"
            #expect(try metrics.expectCounter(sent, [queue, type]).totalValue == 6)
            #expect(metrics.counterTotal(label: sent, dimensions: [queue, type, ("error.type", "invalidHeader")]) == 3)
            func calls(_ operation: String) -> Int {
                metrics.timers(
                    label: "messaging.client.operation.duration",
                    dimensions: [queue, type, ("messaging.operation.name", operation)]
                ).map(\.values.count).reduce(0, +)
            }
            #expect(calls("send") == 3)
            #expect(calls("send_batch") == 2)

            try await withProcessor(env.queue) { _, _ in
                .success
            } body: {
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
                await env.settle()
            }
            #expect(calls("settle") == 5)
        }
    }

    @Test(arguments: Backend.available)
    func oneMiddlewareKeepsQueuesApart(_ backend: Backend) async throws {
        let metrics = TestMetrics()
        let middleware = QueueMetrics(factory: metrics)
        try await withBackend(backend, middleware: [middleware]) { env in
            let other = try await Queue<EmailTask>(
                connection: env.connection, name: uniqueName("metrics-other"), middleware: [middleware],
                logger: testLogger())
            try await env.enqueue(2)
            _ = try await other.enqueue(EmailTask(to: "x@example.com"))
            for queue in [env.queue, other] {
                try await withProcessor(queue) { _, _ in
                    .success
                } body: {
                    #expect(await eventually { (try? await queue.stats().messages) == 0 })
                    await env.settle()
                }
            }
            let type = ("task_type", EmailTask.protoMessageName)
            let label = "messaging.client.consumed.messages"
            #expect(metrics.counterTotal(label: label, dimensions: [("queue", env.queue.name), type]) == 2)
            #expect(metrics.counterTotal(label: label, dimensions: [("queue", other.name), type]) == 1)
        }
    }

    /// A handler that ignores its timeout is counted once as stuck, beside `QueueTracing` (whose `settled` hook does
    /// nothing) and then beside a middleware of the application's: the counts are the same whether the package's
    /// middleware record on the settling thread or on the queue's hook task.
    @Test(arguments: Backend.available)
    func aStuckHandlerIsCountedWhereverTheHooksRun(_ backend: Backend) async throws {
        for withOwnMiddleware in [false, true] {
            let metrics = TestMetrics()
            var middleware: [any QueueMiddleware] = [QueueTracing(), QueueMetrics(factory: metrics)]
            if withOwnMiddleware { middleware.append(SettlementCounter()) }
            // A 3 s ack wait: the monitor looks often enough to see the handler stuck about a second after its timeout,
            // and the gate opens before the server would deliver the task again.
            try await withBackend(backend, ackWait: .seconds(3), middleware: middleware, timeout: .milliseconds(100)) {
                env in
                try await env.enqueue(1, prefix: "stubborn")
                let gate = Gate()
                try await withProcessor(env.queue) { _, _ in
                    await gate.wait()  // ignores cancellation
                    return .success
                } body: {
                    defer { gate.release() }
                    let stuck = { metrics.counterTotal(label: "protoqueue.handlers.stuck") }
                    #expect(await eventually(timeout: .seconds(20)) { stuck() == 1 })
                    gate.release()
                    #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
                    await env.settle()
                }
                let dimensions = [("queue", env.queue.name), ("task_type", EmailTask.protoMessageName)]
                #expect(metrics.counterTotal(label: "protoqueue.handlers.stuck", dimensions: dimensions) == 1)
                // Timed out, then settled late by the worker: retried under the policy.
                let consumed = metrics.counterTotal(label: "messaging.client.consumed.messages", dimensions: dimensions)
                #expect(consumed >= 1)
            }
        }
    }

    /// The renaming shown in `docs/observability.md`.
    @Test func aMappingFactoryRenamesMetricsForOtherDashboards() async throws {
        let upstream = TestMetrics()
        let renamed = upstream.withLabelAndDimensionsMapping { label, dimensions in
            let label = ["messaging.process.duration": "swift.jobs.duration"][label] ?? label
            return (label, dimensions.map { $0.0 == "task_type" ? ("name", $0.1) : $0 })
        }
        try await withBackend(.memory, middleware: [QueueMetrics(factory: renamed)]) { env in
            try await env.enqueue(1)
            try await withProcessor(env.queue) { _, _ in
                .success
            } body: {
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
                await env.settle()
            }
            let dimensions = [("queue", env.queue.name), ("name", EmailTask.protoMessageName), ("outcome", "success")]
            #expect(upstream.timers(label: "swift.jobs.duration", dimensions: dimensions).count == 1)
            #expect(upstream.timers(label: "messaging.process.duration").isEmpty)
        }
    }

    @Test(arguments: Backend.available)
    func theGaugePollerRecordsTheServersView(_ backend: Backend) async throws {
        let metrics = TestMetrics()
        try await withBackend(backend) { env in
            try await env.deadLetterNewTasks(1)
            try await env.enqueue(3, prefix: "waiting")
            let poller = QueueGaugePoller(
                queue: env.queue, interval: .milliseconds(100), factory: metrics, logger: testLogger())
            let running = Task { try await poller.run() }
            let dimensions = [("queue", env.queue.name), ("task_type", EmailTask.protoMessageName)]
            func gauge(_ label: String) -> Double? {
                (try? metrics.expectGauge(label, dimensions))?.lastValue
            }
            #expect(await eventually { gauge("protoqueue.queue.dead_letters") == 1 })
            #expect(gauge("protoqueue.queue.pending") == 3)
            #expect(gauge("protoqueue.queue.messages") == 3)
            #expect(gauge("protoqueue.queue.ack_pending") == 0)
            #expect(gauge("protoqueue.queue.redelivered") == 0)
            #expect(gauge("protoqueue.queue.scheduled") == 0)
            #expect(gauge("protoqueue.queue.ack_pending_limit_reached") == 0)
            running.cancel()
            try await running.value
        }
    }
}

/// A middleware of the application's with a `settled` hook: a queue that has one calls every hook on its hook task.
private struct SettlementCounter: QueueMiddleware {
    func settled(_ settlement: TaskSettlement) async {}
}
