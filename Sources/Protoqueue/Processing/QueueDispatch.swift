import Logging
import ServiceLifecycle

/// One queue served by a worker: its processor (``ProcessorEngine``), the handlers it runs, and its part of a
/// graceful shutdown. ``Queue/process(options:handler:)`` runs one; a ``QueueWorker`` runs one per queue, with a
/// shared ``SlotBudget``.
struct QueueDispatch: Sendable {
    let engine: ProcessorEngine
    let logger: Logger
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
        let runner = TaskRunner<Message>(
            engine: engine, queueName: queue.name, configuration: queue.configuration, middleware: queue.middleware,
            logger: logger, handler: handler)
        return QueueDispatch(engine: engine, logger: logger) {
            let running = RunningHandlers()
            await withDiscardingTaskGroup { group in
                if options.stopWhenIdle {
                    group.addTask {
                        await queue.stopWhenIdle(engine: engine, running: running, every: options.fetchTimeout)
                    }
                }
                while let delivery = await engine.handOff.next() {
                    running.started()
                    group.addTask {
                        var next: Delivery? = delivery
                        while let current = next {
                            await runner.run(current)
                            next = engine.handOff.take()
                        }
                        running.ended()
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

    /// Serves `dispatches` until the calling task is cancelled, a graceful shutdown is triggered, or each stopped on
    /// its own (``ProcessOptions/stopWhenIdle``, or an error, which stops the others too); then lets every processor
    /// finish and throws the first error that stopped one.
    static func run(_ dispatches: [QueueDispatch]) async throws(ProtoqueueError) {
        await withTaskCancellationOrGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
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
            dispatch.logger.debug("processing stopped")
        }
        for dispatch in dispatches {
            if let error = dispatch.engine.fatalError { throw error }
        }
    }
}
