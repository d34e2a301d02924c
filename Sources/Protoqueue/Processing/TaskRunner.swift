import Logging

/// Runs one delivery: checks, decodes, calls the handler (inside the queue's middleware), turns the outcome into a
/// ``Settlement`` and, when the queue has middleware or lifecycle events, tells them the final outcome. The decision
/// itself is ``SettlementDecision``.
struct TaskRunner<Message: ProtoqueueMessage>: Sendable {
    let engine: ProcessorEngine
    let queueName: String
    let configuration: QueueConfiguration
    let middleware: MiddlewareChain
    /// Where final outcomes go: the events and the middleware's ``QueueMiddleware/settled(_:)``; `nil` when the
    /// queue has neither.
    let listeners: SettlementListeners?
    /// The queue's lifecycle events, when on.
    var events: QueueEvents? { listeners?.events }
    let logger: Logger
    let handler: Queue<Message>.Handler

    /// This worker's start rate for the queue, if limited.
    let limiter: RateLimiter?
    /// The header values the queue's tasks carry alike: the task type and the schema fingerprint.
    let expectedTexts: [String]

    /// Runs `delivery` on the handler task that holds `lane`, where the ``HeartbeatMonitor`` watches it.
    func run(_ delivery: Delivery, lane: HandlerLane?) async {
        // A delivery handed out twice would read a message that may be freed and settle nothing: refuse, and say so.
        guard delivery.claim() else {
            logger.error("a delivery reached a handler a second time; the second run is skipped (a Protoqueue bug)")
            return
        }
        // Fetched ahead and left waiting past its ack window (the process was stopped or starved): the server
        // delivers it again, so this worker does not run it.
        if delivery.waitedPastAckWindow(now: MonotonicClock.nanoseconds()) {
            logger.warning(
                "a task waited past its ack window before a handler was free; left for the server to deliver again",
                metadata: ["protoqueue.sequence": "\(delivery.message.metadata().streamSequence)"])
            delivery.settle(.abandon)
            return
        }
        let received = delivery.read(expecting: expectedTexts)
        let headers = TaskHeaders(received.headers)
        // A rescheduled retry carries the attempts it used before this message.
        let attempt = (headers.priorAttempts ?? 0) + Int(clamping: received.deliveries)
        let sequence = received.streamSequence
        // Built only when something is logged: setting metadata costs a log handler more than running a no-op task.
        var taskLogger: Logger { TaskContext.taskLogger(logger, id: headers.id, attempt: attempt, sequence: sequence) }

        if sequence == 0 {
            logger.warning("cannot read the delivery's metadata; treating it as attempt 1")
        }
        lane?.watch(delivery, id: headers.id, attempt: attempt, sequence: sequence, deliveries: received.deliveries)
        let (outcome, settlement, runTime) = await decide(
            delivery, received, headers: headers, attempt: attempt, lane: lane, taskLogger: taskLogger)
        lane?.clear()
        // A unique task's key is freed once its final settlement is on its way.
        let freesKey = UniqueLock.frees(headers.uniqueScope, atStart: false, settlement: settlement)
        // Without `settled` hooks, an acknowledgement's outcome is known here: its event goes out from the handler's
        // task, sparing the settling thread, which every delivery of the connection passes through.
        guard let listeners, listeners.hooks != nil || !settlement.isAcknowledgement else {
            if delivery.settle(settlement), settlement.isAcknowledgement {
                events?.settled(
                    .acknowledged, id: headers.id, sequence: sequence, attempt: attempt, runTime: runTime, error: nil)
            }
            if delivery.missedAckWindow { reportLate(taskLogger) }
            if freesKey { await freeUniqueKey(headers) }
            return
        }
        // The events and the middleware's hooks are told from the settling thread: the handler's task does not
        // wait for the settlement to be written.
        let report = SettlementReport(
            listeners: listeners, id: headers.id, attempt: attempt, sequence: sequence, error: outcome?.error,
            runTime: runTime, settleStart: ContinuousClock.now)
        if !delivery.settle(settlement, then: report) {
            report.tell(.unsettled(error: "the task was settled already"), late: delivery.missedAckWindow)
        }
        if delivery.missedAckWindow { reportLate(taskLogger) }
        if freesKey { await freeUniqueKey(headers) }
    }

    /// Runs the checks and the handler, and decides the settlement. The outcome is `nil` for a grace delivery: ack
    /// timeouts or worker crashes used the attempts up, so it is dead-lettered without running the handler.
    @inline(__always)
    private func decide(
        _ delivery: Delivery, _ received: ReceivedMessage, headers: TaskHeaders, attempt: Int, lane: HandlerLane?,
        taskLogger: @autoclosure () -> Logger
    ) async -> (TaskOutcome?, Settlement, Duration?) {
        let maxAttempts = configuration.consumer.maxDeliveries
        if let maxAttempts, SettlementDecision.isGraceDelivery(attempt: attempt, maxAttempts: maxAttempts) {
            taskLogger().warning("task delivered past its attempts without being settled; dead-lettering it")
            return (nil, SettlementDecision.graceDelivery(attempt: attempt, maxAttempts: maxAttempts), nil)
        }
        var runTime: Duration?
        let result: TaskOutcome
        switch headers.admission(expectedType: Message.protoMessageName) {
        case .refuse(let refusal):
            taskLogger().error("task refused; dead-lettering it", metadata: ["protoqueue.error": "\(refusal)"])
            result = .undecodable(refusal)
        case .run(let id):
            let taken = limiter == nil ? nil : ContinuousClock.now
            if let limiter, await !limiter.acquire() {
                result = .cancelled
                break
            }
            // The clock is read only for a task with a deadline.
            if headers.startBy != nil,
                let expiry = Deadline.expiry(
                    startBy: headers.startBy, attempt: attempt, now: engine.transport.scheduleClockMilliseconds())
            {
                taskLogger().warning("task missed its deadline; dead-lettering it")
                result = .expired(expiry)
                break
            }
            do throws(ProtoqueueError) {
                let task = try Message(serializedBytes: received.data)
                let context = TaskContext(
                    queue: queueName, consumer: engine.layout.consumerName, id: id, attempt: attempt,
                    maxAttempts: maxAttempts, enqueuedAt: headers.enqueuedAt, notBefore: headers.notBefore,
                    startBy: headers.startByDate,
                    timeout: TaskTimeout.effective(task: headers.timeout, queueDefault: configuration.timeout),
                    metadata: headers.metadata, receivedHeaders: received.headers, subject: received.subject,
                    sequence: received.streamSequence, baseLogger: logger, delivery: delivery
                )
                if UniqueLock.frees(headers.uniqueScope, atStart: true) { await freeUniqueKey(headers) }
                events?.started(id: id, sequence: received.streamSequence, attempt: attempt)
                let start = ContinuousClock.now
                result = await handle(task, context: context, lane: lane)
                let end = ContinuousClock.now
                // A wait for the rate limit holds the slot too: Prefetch.automatic counts it.
                engine.noteRunTime(end - (taken ?? start))
                runTime = end - start
            } catch {
                taskLogger().error(
                    "task payload does not decode; dead-lettering it", metadata: ["protoqueue.error": "\(error)"])
                result = .undecodable(error.description)
            }
        }
        let settlement = SettlementDecision.settlement(
            for: result, attempt: attempt, maxAttempts: maxAttempts, reschedules: engine.reschedulesRetries,
            retryDelay: { configuration.retry.delay(afterAttempt: $0) }
        )
        log(result, settlement, taskLogger())
        return (result, settlement, runTime)
    }

    private func reportLate(_ taskLogger: Logger) {
        taskLogger.warning(
            """
            task settled after its ack window ran out; the server may have delivered it to another worker, so it \
            may run twice
            """)
    }

    private func log(_ outcome: TaskOutcome, _ settlement: Settlement, _ taskLogger: @autoclosure () -> Logger) {
        switch (outcome, settlement) {
        case (.cancelled, _):
            taskLogger().debug("handler cancelled; returning the task")
        case (.timedOut(let error), .nak(let delay)), (.timedOut(let error), .reschedule(let delay)):
            taskLogger().warning(
                "handler timed out; retrying",
                metadata: ["protoqueue.error": "\(error)", "protoqueue.delay": "\(delay)"])
        case (.threw(let error), .nak(let delay)), (.threw(let error), .reschedule(let delay)):
            taskLogger().debug(
                "handler threw; retrying", metadata: ["protoqueue.error": "\(error)", "protoqueue.delay": "\(delay)"])
        case (.returned, .deadLetter(let reason, let error, _)), (.threw, .deadLetter(let reason, let error, _)):
            taskLogger().warning(
                "task failed; dead-lettering it",
                metadata: ["protoqueue.reason": "\(reason)", "protoqueue.error": "\(error)"])
        case (_, .discard(let reason)):
            taskLogger().info("task discarded by its handler", metadata: ["protoqueue.reason": "\(reason)"])
        default:
            break
        }
    }

    /// Frees a unique task's key: deletes the lock that took it (by sequence, so a newer lock stays). A failure is
    /// logged; the lock then holds until the task leaves the stream (``UniqueLock/holds(now:taskExists:)``).
    private func freeUniqueKey(_ headers: TaskHeaders) async {
        guard let lock = headers.uniqueLock else { return }
        do throws(ProtoqueueError) {
            _ = try await engine.transport.deleteMessage(
                stream: engine.layout.streamName, sequence: lock, operation: "free a unique task's key")
        } catch {
            logger.warning(
                "cannot free a unique task's key; it frees once the task leaves the stream",
                metadata: ["protoqueue.task_id": "\(headers.id?.rawValue ?? "")", "protoqueue.error": "\(error)"])
        }
    }

    /// Calls the handler with the decoded task, cancelling it when its timeout expires.
    @inline(__always)
    private func handle(_ task: Message, context: TaskContext, lane: HandlerLane?) async -> TaskOutcome {
        guard let timeout = context.timeout else { return await call(task, context: context) }
        let delivery = context.delivery
        lane?.started(timeout: timeout)
        return await withTaskGroup(of: TaskOutcome?.self) { group in
            group.addTask { await call(task, context: context) }
            group.addTask {
                // Cancelled when the handler returned first, or when the worker stops.
                guard (try? await Task.sleep(for: timeout)) != nil else { return nil }
                delivery.markTimedOut()
                return nil
            }
            while let next = await group.next() {
                group.cancelAll()
                if let outcome = next { return outcome }
            }
            return .cancelled
        }
    }

    /// Calls the handler, inside the middleware when there is any.
    @inline(__always)
    private func call(_ task: Message, context: TaskContext) async -> TaskOutcome {
        do {
            if middleware.isEmpty { return .returned(try await handler(task, context)) }
            return .returned(try await middleware.process(task, context: context) { try await handler(task, context) })
        } catch {
            // Cancelled by its timeout: the task's fault, retried under the policy. Stopped while running: not the
            // task's fault.
            if context.delivery.timedOut, let timeout = context.timeout {
                return .timedOut(TaskTimedOut(timeout: timeout))
            }
            return Task.isCancelled ? .cancelled : .threw(error)
        }
    }
}
