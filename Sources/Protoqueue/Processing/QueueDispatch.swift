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
    /// The final outcomes on their way to the middleware's hook task; `nil` when their hooks run where the tasks were
    /// settled (``SettlementHooks``), or there are none.
    let notices: SettlementNotices?
    /// Whether the queue's consumer has neither undelivered nor unsettled tasks (`false` when it cannot be read).
    let consumerIsIdle: @Sendable () async -> Bool
    /// Runs the handlers until the engine stops fetching, then gives running ones their grace and cancels the rest.
    let serve: @Sendable () async -> Void

    /// Checks the queue's consumers and registers its processors: the handlers' one and the one that serves the
    /// scheduled-task consumer (``ScheduledTaskMover``) after it, so that an error that stops both is reported for the
    /// handlers' consumer.
    static func start<Message: ProtoqueueMessage>(
        _ queue: Queue<Message>, options: ProcessOptions, budget: SlotBudget?,
        handler: @escaping Queue<Message>.Handler
    ) async throws(ProtoqueueError) -> [QueueDispatch] {
        let priorities = queue.configuration.priorities
        if priorities.isTiered && budget != nil {
            throw ProtoqueueError(
                .invalidConfiguration,
                "queue \"\(queue.name)\" has priority tiers: serve it with process(options:handler:) (a QueueWorker "
                    + "does not share its budget with tiers yet)")
        }
        let transport = queue.connection.transport
        let mover = try await startMover(queue, options: options)
        // A tiered queue's tiers share the worker's slots: by weight, or in order when strict.
        let shared =
            priorities.isTiered
            ? SlotBudget(total: options.concurrency, mode: priorities.isStrict ? .strict : .weighted) : budget
        var engines: [ProcessorEngine] = []
        let weights = priorities.tiers.map(\.weight).reduce(0, +)
        do throws(ProtoqueueError) {
            for (rank, layout) in queue.layout.workerConsumers.enumerated() {
                // A weighted tier pulls in batches of half its share, so that it keeps pulling up to its share.
                let share =
                    priorities.isTiered && !priorities.isStrict
                    ? options.concurrency * priorities.tiers[rank].weight / weights : nil
                let engine = try await ProcessorEngine.start(
                    transport: transport, layout: layout, configuration: queue.configuration, options: options,
                    budget: shared, standing: .init(weight: priorities.tiers[rank].weight, rank: rank),
                    reschedulesRetries: mover != nil, expectedShare: share, logger: queue.logger)
                engines.append(engine)
            }
        } catch {
            for engine in engines + (mover.map { [$0.engine] } ?? []) {
                engine.requestStop()
                await engine.finish()
            }
            throw error
        }
        let logger = queue.logger
        logger.debug(
            "processing",
            metadata: [
                "protoqueue.concurrency": "\(options.concurrency)",
                "protoqueue.consumer": "\(engines.map(\.layout.consumerName).joined(separator: ","))",
            ])
        let hooks = SettlementHooks.of(queue.middleware, queue: queue.name, taskType: Message.protoMessageName)
        let limiter = options.rateLimit.map(RateLimiter.init)
        var dispatches: [QueueDispatch] = []
        for engine in engines {
            let first = dispatches.isEmpty
            let heartbeats = HeartbeatMonitor(engine: engine, queue: queue.name, taskType: Message.protoMessageName) {
                stuck in
                logger.warning(
                    """
                    handler still running after its timeout cancelled it: it ignores cancellation and keeps its slot, \
                    and the task goes to another worker once its ack wait runs out
                    """,
                    metadata: [
                        "protoqueue.task_id": "\(stuck.id?.rawValue ?? "")", "protoqueue.attempt": "\(stuck.attempt)",
                        "protoqueue.sequence": "\(stuck.sequence)", "protoqueue.timeout": "\(stuck.timeout)",
                        "protoqueue.running_for": "\(stuck.runningFor)",
                    ])
                hooks?.post(stuck)
            }
            let runner = TaskRunner<Message>(
                engine: engine, queueName: queue.name, configuration: queue.configuration,
                middleware: queue.middleware,
                listeners: SettlementListeners(
                    events: queue.events, hooks: hooks, queue: queue.name, taskType: Message.protoMessageName),
                logger: logger, handler: handler,
                limiter: limiter,
                expectedTexts: [Message.protoMessageName] + (queue.schemaFingerprint.map { [$0.rawValue] } ?? []))
            // One schedule runner and one notifier per queue, with its first tier.
            let schedules =
                first && options.firesSchedules
                ? ScheduleRunner(
                    transport: transport, layout: queue.layout, duplicateWindow: queue.configuration.duplicateWindow,
                    logger: logger)
                : nil
            dispatches.append(
                make(
                    engine: engine, layout: engine.layout, transport: transport, notices: first ? hooks?.notices : nil,
                    shutdownTimeout: options.shutdownTimeout, watchesAckPending: true,
                    strandedCheck: options.strandedTaskCheck, schedules: schedules, heartbeats: heartbeats,
                    logger: logger
                ) { delivery, lane in await runner.run(delivery, lane: lane) })
        }
        return dispatches + (mover.map { [$0] } ?? [])
    }

    /// The processor of the queue's scheduled-task consumer, or `nil` (and a warning) when that consumer does not
    /// exist: the queue was opened with provisioning `none` on a stream made by an older version, and long retries
    /// then hold ack-pending slots.
    private static func startMover<Message: ProtoqueueMessage>(
        _ queue: Queue<Message>, options: ProcessOptions
    ) async throws(ProtoqueueError) -> QueueDispatch? {
        let layout = queue.layout.scheduledTasks
        var own = options
        own.concurrency = ScheduledTaskMover.concurrency
        own.ackMode = .fireAndForget
        let engine: ProcessorEngine
        do throws(ProtoqueueError) {
            engine = try await ProcessorEngine.start(
                transport: queue.connection.transport, layout: layout, configuration: queue.configuration,
                options: own, logger: queue.logger)
        } catch  where error.code == .streamNotFound {
            queue.logger.warning(
                "the queue has no scheduled-task consumer; retries wait holding their ack-pending slots",
                metadata: ["protoqueue.consumer": "\(layout.consumerName)", "protoqueue.error": "\(error)"])
            return nil
        }
        let mover = ScheduledTaskMover(transport: queue.connection.transport, logger: queue.logger)
        return make(
            engine: engine, layout: layout, transport: queue.connection.transport, notices: nil,
            shutdownTimeout: options.shutdownTimeout, watchesAckPending: false,
            strandedCheck: options.strandedTaskCheck, schedules: nil, heartbeats: nil, logger: queue.logger
        ) { delivery, _ in await mover.run(delivery) }
    }

    /// A dispatch that runs `run` for each delivery of `engine`, on tasks that wait for the next delivery when
    /// none is queued, with an ``AckPendingWatch`` while it serves when `watchesAckPending`, a ``StrandedWatch``
    /// looking every `strandedCheck`, and `schedules` and `heartbeats` while it serves.
    private static func make(
        engine: ProcessorEngine, layout: QueueLayout, transport: any QueueTransport, notices: SettlementNotices?,
        shutdownTimeout: Duration, watchesAckPending: Bool, strandedCheck: Duration?, schedules: ScheduleRunner?,
        heartbeats: HeartbeatMonitor?, logger: Logger,
        run: @escaping @Sendable (Delivery, HandlerLane?) async -> Void
    ) -> QueueDispatch {
        let running = RunningHandlers()
        let read: @Sendable () async throws(ProtoqueueError) -> ConsumerState = { () async throws(ProtoqueueError) in
            try await transport.consumerState(stream: layout.streamName, consumer: layout.consumerName)
        }
        let watch =
            watchesAckPending ? AckPendingWatch(engine: engine, running: running, read: read, logger: logger) : nil
        let consumerIsIdle: @Sendable () async -> Bool = {
            do throws(ProtoqueueError) {
                let state = try await read()
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
            await withDiscardingTaskGroup { watching in
                if let watch { watching.addTask { await watch.run() } }
                if let strandedCheck {
                    let stranded = StrandedWatch(engine: engine, interval: strandedCheck, logger: logger)
                    watching.addTask { await stranded.run() }
                }
                if let schedules { watching.addTask { await schedules.run() } }
                if let heartbeats { watching.addTask { await heartbeats.run() } }
                await serve(
                    engine, running: running, heartbeats: heartbeats, shutdownTimeout: shutdownTimeout, logger: logger,
                    run: run)
                watching.cancelAll()
            }
        }
    }

    /// Runs `run` for each delivery of `engine` until it stops fetching, then gives running ones their grace and
    /// cancels the rest. Each handler task holds a lane of `heartbeats` while it runs.
    private static func serve(
        _ engine: ProcessorEngine, running: RunningHandlers, heartbeats: HeartbeatMonitor?, shutdownTimeout: Duration,
        logger: Logger, run: @escaping @Sendable (Delivery, HandlerLane?) async -> Void
    ) async {
        await withDiscardingTaskGroup { group in
            while let delivery = await engine.handOff.next() {
                running.started()
                group.addTask {
                    let lane = heartbeats?.open()
                    defer { if let lane { heartbeats?.close(lane) } }
                    var next: Delivery? = delivery
                    while let current = next {
                        await run(current, lane)
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
            if await !running.waitUntilIdle(timeout: shutdownTimeout) {
                let still = running.count
                if still > 0 {
                    logger.warning(
                        "cancelling handlers still running at shutdown", metadata: ["protoqueue.count": "\(still)"])
                    group.cancelAll()
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
            // Side by side: each waits for its open pull requests and a round trip to the server.
            await withDiscardingTaskGroup { finishing in
                for dispatch in dispatches { finishing.addTask { await dispatch.engine.finish() } }
            }
            for dispatch in dispatches {
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
