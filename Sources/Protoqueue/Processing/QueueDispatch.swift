import Logging
import ServiceLifecycle

/// One queue served by a worker: its processor (``ProcessorEngine``), the handlers it runs, and its part of a
/// graceful shutdown. ``Queue/process(options:handler:)`` runs one; a ``QueueWorker`` runs one per queue, with a
/// shared ``SlotBudget``.
struct QueueDispatch: Sendable {
    let engine: ProcessorEngine
    let logger: Logger
    /// The handler tasks running now.
    let running: RunningHandlers
    /// The final outcomes on their way to the middleware; `nil` without middleware.
    let notices: SettlementNotices?
    /// Whether the queue's consumer has neither undelivered nor unsettled tasks (`false` when it cannot be read).
    let consumerIsIdle: @Sendable () async -> Bool
    /// Runs the handlers until the engine stops fetching, then gives running ones their grace and cancels the rest.
    let serve: @Sendable () async -> Void

    /// Checks the queue's consumer and registers its processor.
    static func start<Message: ProtoqueueMessage>(
        _ queue: Queue<Message>, options: ProcessOptions, budget: SlotBudget?,
        handler: @escaping Queue<Message>.Handler
    ) async throws(ProtoqueueError) -> QueueDispatch {
        let engine = try await ProcessorEngine.start(
            transport: queue.connection.transport, layout: queue.layout, configuration: queue.configuration,
            options: options, budget: budget, logger: queue.logger
        )
        let logger = queue.logger
        logger.debug(
            "processing",
            metadata: [
                "protoqueue.concurrency": "\(options.concurrency)",
                "protoqueue.consumer": "\(queue.layout.consumerName)",
            ])
        let notices = queue.middleware.isEmpty ? nil : SettlementNotices(middleware: queue.middleware)
        let runner = TaskRunner<Message>(
            engine: engine, queueName: queue.name, configuration: queue.configuration, middleware: queue.middleware,
            events: queue.events, notices: notices, logger: logger, handler: handler)
        let running = RunningHandlers()
        let consumerIsIdle: @Sendable () async -> Bool = {
            do throws(ProtoqueueError) {
                let state = try await queue.connection.transport.consumerState(
                    stream: queue.layout.streamName, consumer: queue.layout.consumerName)
                return state.pending == 0 && state.ackPending == 0
            } catch {
                logger.debug(
                    "cannot read the consumer to check for idleness", metadata: ["protoqueue.error": "\(error)"])
                return false
            }
        }
        return QueueDispatch(
            engine: engine, logger: logger, running: running, notices: notices, consumerIsIdle: consumerIsIdle
        ) {
            await withDiscardingTaskGroup { group in
                while let delivery = await engine.handOff.next() {
                    running.started()
                    group.addTask {
                        var next: Delivery? = delivery
                        while let current = next {
                            await runner.run(current)
                            next = engine.handOff.take()
                            if next == nil {
                                // A parked task is not a running handler: an idle queue has none.
                                running.ended()
                                next = await engine.handOff.park()
                                if next != nil { running.started() }
                            }
                        }
                    }
                }
                // Stopping: no new handler starts. Give running ones their grace, then cancel them.
                if await !running.waitUntilIdle(timeout: options.shutdownTimeout) {
                    let still = running.count
                    if still > 0 {
                        logger.warning(
                            "cancelling handlers still running at shutdown", metadata: ["protoqueue.count": "\(still)"])
                        group.cancelAll()
                    }
                }
            }
        }
    }

    /// Serves `dispatches` until the calling task is cancelled, a graceful shutdown is triggered, every queue is idle
    /// at once (with `stopWhenIdle`, checked every `interval`), or one stops with an error (which stops the others);
    /// then lets every processor finish and throws the first error that stopped one.
    static func run(
        _ dispatches: [QueueDispatch], stopWhenIdle: Bool, interval: Duration
    ) async throws(ProtoqueueError) {
        await withDiscardingTaskGroup { notifiers in
            for dispatch in dispatches {
                if let notices = dispatch.notices { notifiers.addTask { await notices.run() } }
            }
            await withTaskCancellationOrGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    if stopWhenIdle {
                        group.addTask { await stopOnceIdle(dispatches, every: interval) }
                    }
                    for dispatch in dispatches {
                        group.addTask {
                            await dispatch.serve()
                            if dispatch.engine.fatalError != nil {
                                for other in dispatches { other.engine.requestStop() }
                            }
                        }
                    }
                }
            } onCancelOrGracefulShutdown: {
                for dispatch in dispatches { dispatch.engine.requestStop() }
            }
            for dispatch in dispatches {
                await dispatch.engine.finish()
                // Every settlement is on the wire and posted: the hooks run for the last ones, then the notifier ends.
                dispatch.notices?.close()
                dispatch.logger.debug("processing stopped")
            }
        }
        for dispatch in dispatches {
            if let error = dispatch.engine.fatalError { throw error }
        }
    }

    /// Stops every processor once no handler runs and no queue's consumer has undelivered or unsettled tasks, all at
    /// the same check: a queue whose tasks come from another queue's handlers is not stopped while those run.
    /// Returns when the processors stop for any reason.
    private static func stopOnceIdle(_ dispatches: [QueueDispatch], every interval: Duration) async {
        func noHandlerRuns() -> Bool { dispatches.allSatisfy { $0.running.count == 0 } }
        while !dispatches.contains(where: { $0.engine.isStopping }) {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            guard noHandlerRuns() else { continue }
            var idle = true
            for dispatch in dispatches where idle { idle = await dispatch.consumerIsIdle() }
            // A handler that started meanwhile came from a task the consumers showed; checked again all the same.
            guard idle, noHandlerRuns(), !dispatches.contains(where: { $0.engine.isStopping }) else { continue }
            for dispatch in dispatches {
                dispatch.logger.debug("idle; the worker stops")
                dispatch.engine.requestStop()
            }
        }
    }
}
