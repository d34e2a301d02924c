public import CoreMetrics
import Foundation

/// Middleware that records what a worker does with each queue's tasks as swift-metrics.
///
/// ## Overview
/// ```swift
/// let metrics = QueueMetrics()   // the bootstrapped MetricsSystem's factory, OpenTelemetry names
/// let queue = try await Queue<EmailTask>(
///     connection: connection, name: "emails", middleware: [metrics], logger: logger)
/// ```
/// Give the same instance to the producers' queues too: it counts and times what they send. Metric objects are
/// made once per queue, with the dimensions `queue` and `task_type` (and `outcome` or
/// `reason` where the table in `docs/observability.md` says); never a task id. One `QueueMetrics` may serve any
/// number of queues. ``QueueGaugePoller`` adds the server's view of a queue (pending, ack pending, dead letters).
public final class QueueMetrics: QueueMiddleware {
    /// The metric names; the defaults follow the OpenTelemetry messaging conventions where one exists.
    public struct Names: Sendable, Hashable {
        /// Counter: tasks sent (single and batch enqueues). Stored tasks, duplicates included, have no extra
        /// dimension; tasks that were not enqueued have `error.type`, the error's code.
        public var sent = "messaging.client.sent.messages"
        /// Timer: enqueue and settlement calls (dimension `messaging.operation.name`: `send` for a single enqueue
        /// until the server's acknowledgement, `send_batch` for a whole batch, `settle` for a delivery's
        /// settlement).
        public var operationDuration = "messaging.client.operation.duration"
        /// Counter: deliveries a worker settled (every delivery of a task, handled or refused).
        public var consumed = "messaging.client.consumed.messages"
        /// Timer: handler run time, for every outcome (dimension `outcome`: `success`, `retry`, `failure`,
        /// `discard`, `error` for a thrown error).
        public var processDuration = "messaging.process.duration"
        /// Timer: from enqueue (`Protoqueue-Enqueued-At`) to the start of the first attempt's handler.
        public var queueWait = "protoqueue.queue.wait"
        /// Meter: handlers running now.
        public var inFlight = "protoqueue.tasks.in_flight"
        /// Counter: final outcomes (dimension `outcome`: `acknowledged`, `retried`, `dead_lettered`, `terminated`,
        /// `unsettled`; `reason`: the dead-letter reason, or `none`).
        public var settled = "protoqueue.tasks.settled"
        /// Counter: settlements that went out after the task's ack window ran out (``TaskSettlement/late``).
        public var lateSettlements = "protoqueue.tasks.late_settlements"
        /// Counter: handlers still running after their timeout cancelled them (``StuckHandler``).
        public var stuckHandlers = "protoqueue.handlers.stuck"

        /// The default names.
        public init() {}
    }

    let names: Names
    let factory: any MetricsFactory
    private let known = MadeOnce<QueueKey, QueueInstruments>()

    private struct QueueKey: Hashable {
        let queue: String
        let taskType: String
    }

    /// Creates the middleware.
    /// - Parameters:
    ///   - names: The metric names.
    ///   - factory: Where the metrics go; by default the bootstrapped `MetricsSystem` (or a task-local
    ///     `withMetricsFactory` factory) at the time of this call.
    public init(names: Names = Names(), factory: (any MetricsFactory)? = nil) {
        self.names = names
        self.factory = factory ?? MetricsSystem.factory
    }

    /// Counts the tasks sent and times the call.
    public func send(
        _ operation: EnqueueOperation, next: () async throws(ProtoqueueError) -> EnqueueOutcome
    ) async throws(ProtoqueueError) -> EnqueueOutcome {
        let instruments = self.instruments(queue: operation.queue, taskType: operation.taskType)
        let timer = operation.kind == .single ? instruments.sendDuration : instruments.sendBatchDuration
        let start = ContinuousClock.now
        do {
            let outcome = try await next()
            timer.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
            instruments.sent.increment(by: Int64(outcome.succeeded))
            for (code, count) in outcome.failures { instruments.sendFailed(code).increment(by: Int64(count)) }
            return outcome
        } catch {
            timer.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
            instruments.sendFailed(error.code).increment()
            throw error
        }
    }

    /// Records run time, queue wait and tasks in flight around the handler.
    public func process(
        _ task: any ProtoqueueMessage, context: TaskContext, next: () async throws -> TaskResult
    ) async throws -> TaskResult {
        let instruments = self.instruments(queue: context.queue, taskType: type(of: task).protoMessageName)
        // From when the task could first run: its enqueue, or a delayed task's due time.
        if context.attempt == 1, let since = Self.later(context.enqueuedAt, context.notBefore) {
            instruments.queueWait.recordNanoseconds(max(0, Int64(Date().timeIntervalSince(since) * 1e9)))
        }
        instruments.inFlight.increment()
        defer { instruments.inFlight.decrement() }
        let start = ContinuousClock.now
        do {
            let result = try await next()
            instruments.processDuration(for: result).recordNanoseconds((ContinuousClock.now - start).nanoseconds)
            return result
        } catch {
            instruments.processError.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
            throw error
        }
    }

    /// Counts the delivery and its final outcome, and times the settlement.
    public func settled(_ settlement: TaskSettlement) async {
        instruments(queue: settlement.queue, taskType: settlement.taskType).record(settlement)
    }

    /// Counts a handler that ignores its timeout.
    public func handlerStuck(_ handler: StuckHandler) async {
        instruments(queue: handler.queue, taskType: handler.taskType).stuckHandlers.increment()
    }

    /// The later of two times, either of which may be missing.
    private static func later(_ first: Date?, _ second: Date?) -> Date? {
        guard let first, let second else { return first ?? second }
        return max(first, second)
    }

    /// The metric objects of one queue, made on first use.
    func instruments(queue: String, taskType: String) -> QueueInstruments {
        known.value(for: QueueKey(queue: queue, taskType: taskType)) { key in
            QueueInstruments(queue: key.queue, taskType: key.taskType, names: names, factory: factory)
        }
    }
}

extension QueueMetrics: SettlementRecorder {
    func recording(queue: String, taskType: String) -> SettlementRecording? {
        let instruments = instruments(queue: queue, taskType: taskType)
        return SettlementRecording(
            settled: { instruments.record($0) }, stuck: { _ in instruments.stuckHandlers.increment() })
    }
}
