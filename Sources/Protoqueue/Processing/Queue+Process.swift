import Foundation
import Logging
import ServiceLifecycle
import Synchronization

extension Queue {
    /// The handler a worker runs for each task.
    public typealias Handler = @Sendable (Message, TaskContext) async throws -> TaskResult

    /// Runs `handler` for the queue's tasks until the calling task is cancelled or a graceful shutdown
    /// (swift-service-lifecycle) is triggered.
    ///
    /// At most ``ProcessOptions/concurrency`` handlers run at once; the worker fetches only as many tasks as it has
    /// free slots. The ``TaskResult`` decides the acknowledgement; a thrown error means "retry under the queue's
    /// ``RetryPolicy``" and, on the last attempt, dead-lettering. A payload that does not decode as `Message` is
    /// dead-lettered at once (reason ``DeadLetterReason/decode``) without calling the handler.
    ///
    /// **Stopping.** On graceful shutdown the worker stops fetching, gives running handlers
    /// ``ProcessOptions/shutdownTimeout`` to finish, then cancels them. On task cancellation running handlers are
    /// cancelled at once. Either way every outcome a handler returns is still applied, a handler that throws
    /// because it was cancelled has its task returned to the server (`-NAK`, no delay), and fetched tasks no
    /// handler started are returned the same way; nothing is lost.
    /// - Parameters:
    ///   - options: Concurrency, fetch timeout, shutdown timeout, ack mode.
    ///   - handler: Called once per delivery with the decoded task and its context.
    /// - Throws: ``ProtoqueueError`` when the consumer cannot be bound (``ProtoqueueError/Code/streamNotFound``),
    ///   the options are invalid, or the connection closed underneath the worker
    ///   (``ProtoqueueError/Code/connectionClosed``).
    public func process(options: ProcessOptions = ProcessOptions(), handler: @escaping Handler) async throws(ProtoqueueError) {
        let options = try options.validated()
        let engine = try await ProcessorEngine.start(
            connection: connection, layout: layout, configuration: configuration, options: options, logger: logger
        )
        logger.debug("processing", metadata: ["protoqueue.concurrency": "\(options.concurrency)", "protoqueue.consumer": "\(layout.consumerName)"])
        let runner = TaskRunner<Message>(engine: engine, configuration: configuration, logger: logger, handler: handler)
        await withTaskCancellationOrGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while let delivery = await engine.nextDelivery() {
                    engine.runningHandlers.add(1, ordering: .relaxed)
                    group.addTask {
                        var next: Delivery? = delivery
                        while let current = next {
                            await runner.run(current)
                            next = engine.takeFetched()
                        }
                        engine.runningHandlers.subtract(1, ordering: .relaxed)
                    }
                }
                // Stopping: no new handler starts. Give running ones their grace, then cancel them.
                let deadline = ContinuousClock.now + options.shutdownTimeout
                while engine.runningHandlers.load(ordering: .relaxed) > 0 && !Task.isCancelled && ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(5))
                }
                let still = engine.runningHandlers.load(ordering: .relaxed)
                if still > 0 {
                    logger.warning("cancelling handlers still running at shutdown", metadata: ["protoqueue.count": "\(still)"])
                    group.cancelAll()
                }
            }
        } onCancelOrGracefulShutdown: {
            engine.requestStop()
        }
        await engine.finish()
        logger.debug("processing stopped")
        if let error = engine.fatalError { throw error }
    }

    /// A `Service` running ``process(options:handler:)``, for a `ServiceGroup`: SIGTERM triggers the graceful
    /// shutdown described there.
    ///
    /// ```swift
    /// let group = ServiceGroup(
    ///     services: [queue.processor(options: .init(concurrency: 16)) { task, context in .success }],
    ///     gracefulShutdownSignals: [.sigterm, .sigint],
    ///     logger: logger
    /// )
    /// try await group.run()
    /// ```
    /// - Parameters:
    ///   - options: Concurrency, fetch timeout, shutdown timeout, ack mode.
    ///   - handler: Called once per delivery.
    /// - Returns: The service.
    public func processor(options: ProcessOptions = ProcessOptions(), handler: @escaping Handler) -> QueueProcessor<Message> {
        QueueProcessor(queue: self, options: options, handler: handler)
    }
}

/// A worker as a swift-service-lifecycle `Service` (see ``Queue/processor(options:handler:)``).
public struct QueueProcessor<Message: ProtoqueueMessage>: Service {
    /// The queue it processes.
    public let queue: Queue<Message>
    /// Its options.
    public let options: ProcessOptions
    let handler: Queue<Message>.Handler

    /// Runs the worker until graceful shutdown or cancellation.
    /// - Throws: What ``Queue/process(options:handler:)`` throws.
    public func run() async throws {
        try await queue.process(options: options, handler: handler)
    }
}

/// Runs one delivery: checks, decodes, calls the handler, turns the outcome into a ``Settlement``.
/// Per-task concerns that come later (automatic in-progress heartbeats, per-task deadlines, tracing spans from
/// `traceparent`, metrics per outcome, priority tiers) hook in here and in ``ProcessorEngine``'s single
/// settlement path.
struct TaskRunner<Message: ProtoqueueMessage>: Sendable {
    let engine: ProcessorEngine
    let configuration: QueueConfiguration
    let logger: Logger
    let handler: Queue<Message>.Handler

    func run(_ delivery: Delivery) async {
        let received = delivery.read()
        let attempt = Int(clamping: received.deliveries)
        let maxAttempts = configuration.consumer.maxDeliveries
        func failure(_ reason: DeadLetterReason, _ error: String, details: [String: String] = [:]) -> Settlement {
            .deadLetter(
                DeadLetterFailure(
                    reason: reason, error: error, details: details, attempts: received.deliveries, subject: received.subject,
                    stream: received.stream, sequence: received.streamSequence, consumer: received.consumer
                )
            )
        }
        let id = received.headers[WireFormat.taskIDHeader] ?? received.headers[WireFormat.Header.messageID] ?? "seq-\(received.streamSequence)"
        var taskLogger: Logger {
            var taskLogger = logger
            taskLogger[metadataKey: "protoqueue.task_id"] = "\(id)"
            taskLogger[metadataKey: "protoqueue.attempt"] = "\(attempt)"
            taskLogger[metadataKey: "protoqueue.sequence"] = "\(received.streamSequence)"
            return taskLogger
        }

        // A delivery past the attempts: ack timeouts or worker crashes used them up. Grace delivery: dead-letter it.
        if let maxAttempts, attempt > maxAttempts {
            taskLogger.warning("task delivered past its attempts without being settled; dead-lettering it")
            delivery.settle(
                failure(.maxDeliveries, "delivered \(attempt) times, more than the \(maxAttempts) attempts allowed, without being settled (ack wait expired or worker crashed)")
            )
            return
        }
        if let type = received.headers[WireFormat.Header.messageType], type != Message.protoMessageName {
            taskLogger.error("task has another message type; dead-lettering it", metadata: ["protoqueue.type": "\(type)"])
            delivery.settle(failure(.decode, "message type \(type), expected \(Message.protoMessageName)"))
            return
        }
        let task: Message
        do throws(ProtoqueueError) {
            task = try Message(serializedBytes: received.data)
        } catch {
            taskLogger.error("task payload does not decode; dead-lettering it", metadata: ["protoqueue.error": "\(error)"])
            delivery.settle(failure(.decode, error.description))
            return
        }

        var metadata: [String: String] = [:]
        for (key, value) in received.headers where key.hasPrefix(WireFormat.metadataPrefix) {
            metadata[String(key.dropFirst(WireFormat.metadataPrefix.count))] = value
        }
        let enqueuedAt = received.headers[WireFormat.Header.enqueuedAt].flatMap(Int64.init).map {
            Date(timeIntervalSince1970: Double($0) / 1000)
        }
        let context = TaskContext(
            id: id, attempt: attempt, maxAttempts: maxAttempts, enqueuedAt: enqueuedAt, metadata: metadata,
            headers: received.headers, subject: received.subject, streamSequence: received.streamSequence,
            baseLogger: logger, delivery: delivery
        )

        let settlement: Settlement
        do {
            let result = try await handler(task, context)
            switch result {
            case .success:
                settlement = .ack
            case .retry(let after):
                if let maxAttempts, attempt >= maxAttempts {
                    settlement = failure(.retriesExhausted, "the handler asked for a retry on attempt \(attempt) of \(maxAttempts)")
                } else {
                    settlement = .nak(delay: after ?? configuration.retry.delay(afterAttempt: attempt))
                }
            case .failure(let error, let details):
                settlement = failure(.failed, error, details: details)
            }
        } catch {
            if Task.isCancelled {
                // Stopped while running: not the task's fault. Back to the server at once.
                taskLogger.debug("handler cancelled; returning the task", metadata: ["protoqueue.error": "\(error)"])
                settlement = .nak(delay: .zero)
            } else if let maxAttempts, attempt >= maxAttempts {
                settlement = failure(.retriesExhausted, String(describing: error))
            } else {
                let delay = configuration.retry.delay(afterAttempt: attempt)
                taskLogger.debug("handler threw; retrying", metadata: ["protoqueue.error": "\(error)", "protoqueue.delay": "\(delay)"])
                settlement = .nak(delay: delay)
            }
        }
        if case .deadLetter(let info) = settlement {
            taskLogger.warning("task failed; dead-lettering it", metadata: ["protoqueue.reason": "\(info.reason)", "protoqueue.error": "\(info.error)"])
        }
        delivery.settle(settlement)
    }
}
