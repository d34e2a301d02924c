public import Logging
public import ServiceLifecycle

/// One worker for several queues of different task types: one concurrency budget, one graceful shutdown.
///
/// ## Overview
/// ```swift
/// var worker = QueueWorker(options: .init(concurrency: 32), logger: logger)
/// worker.add(emails) { task, context in try await mailer.send(task); return .success }
/// worker.add(thumbnails, maxConcurrency: 4) { task, context in try await render(task); return .success }
/// try await ServiceGroup(services: [connection, worker], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
/// At most ``ProcessOptions/concurrency`` handlers run at once over every queue, and at most `maxConcurrency` of
/// one queue. Slots are shared fairly: while several queues have work waiting, none holds more than an equal share
/// of the budget, so a queue with a backlog never starves another; a queue alone may use the whole budget. A queue
/// whose tasks ran out holds one slot for its open pull request until work arrives. The queues of one connection
/// share that connection's threads. ``Queue/process(options:handler:)`` is the one-queue case.
///
/// Graceful shutdown (or cancellation) stops every queue as ``Queue/process(options:handler:)`` describes. When one
/// queue stops with an error (its stream was deleted, the connection closed), the worker stops the others and
/// ``run()`` throws that error.
public struct QueueWorker: Service {
    /// The options every queue runs with; ``ProcessOptions/concurrency`` is the budget over all queues.
    public let options: ProcessOptions
    private let logger: Logger
    private var entries: [Entry] = []

    private struct Entry: Sendable {
        let start: @Sendable (ProcessOptions, SlotBudget?) async throws(ProtoqueueError) -> [QueueDispatch]
        let maxConcurrency: Int?
    }

    /// Creates a worker with no queue yet.
    /// - Parameters:
    ///   - options: The budget over all queues (``ProcessOptions/concurrency``), fetch and shutdown timeouts, ack
    ///     mode, and whether to stop once every queue is idle.
    ///   - logger: Where the worker logs; each queue also logs to its own logger.
    public init(options: ProcessOptions = ProcessOptions(), logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Adds a queue and the handler for its tasks.
    /// - Parameters:
    ///   - queue: The queue.
    ///   - maxConcurrency: At most this many of its handlers at once; `nil` lets it use the whole budget.
    ///   - handler: Called once per delivery, as in ``Queue/process(options:handler:)``.
    public mutating func add<Message: ProtoqueueMessage>(
        _ queue: Queue<Message>, maxConcurrency: Int? = nil, handler: @escaping Queue<Message>.Handler
    ) {
        entries.append(
            Entry(
                start: { options, budget throws(ProtoqueueError) in
                    try await QueueDispatch.start(queue, options: options, budget: budget, handler: handler)
                },
                maxConcurrency: maxConcurrency))
    }

    /// Serves every added queue until graceful shutdown or cancellation (or, with ``ProcessOptions/stopWhenIdle``,
    /// until every queue is idle).
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidConfiguration`` for a worker without queues or with a
    ///   `maxConcurrency` below 1; the error that stopped a queue.
    public func run() async throws {
        try await serve()
    }

    private func serve() async throws(ProtoqueueError) {
        let options = try options.validated()
        guard !entries.isEmpty else {
            throw ProtoqueueError(.invalidConfiguration, "a QueueWorker needs at least one queue (add(_:handler:))")
        }
        // One queue that may use the whole budget is exactly `process`: no shared budget to keep.
        let shared =
            entries.count == 1 && entries[0].maxConcurrency == nil ? nil : SlotBudget(total: options.concurrency)
        var dispatches: [QueueDispatch] = []
        do throws(ProtoqueueError) {
            for entry in entries {
                var own = options
                if let cap = entry.maxConcurrency {
                    guard cap >= 1 else {
                        throw ProtoqueueError(.invalidConfiguration, "maxConcurrency must be at least 1, not \(cap)")
                    }
                    own.concurrency = min(cap, options.concurrency)
                }
                dispatches.append(contentsOf: try await entry.start(own, shared))
            }
        } catch {
            // Those already registered are stopped and unregistered before the error goes up.
            for dispatch in dispatches { dispatch.engine.requestStop() }
            for dispatch in dispatches { await dispatch.engine.finish() }
            throw error
        }
        logger.debug(
            "worker started",
            metadata: ["protoqueue.queues": "\(entries.count)", "protoqueue.budget": "\(options.concurrency)"])
        try await QueueDispatch.run(dispatches, stopWhenIdle: options.stopWhenIdle, interval: options.fetchTimeout)
    }
}
