public import Tracing

/// Middleware that traces each queue's tasks with swift-distributed-tracing, following the OpenTelemetry messaging
/// conventions, and carries the trace context in the task's `traceparent` and `tracestate` headers.
///
/// ## Overview
/// ```swift
/// InstrumentationSystem.bootstrap(myTracer)   // swift-otel, for example, with the W3C propagator
/// let emails = try await Queue<EmailTask>(
///     connection: connection, name: "emails", middleware: [QueueTracing(), QueueMetrics()], logger: logger)
/// ```
/// - Enqueue: a `send <subject>` span (kind producer) per ``Queue/enqueue(_:options:)``, whose context the task
///   carries. A batch gets one `send <subject>` span (kind client, `messaging.batch.message_count`) and, by default,
///   one `create <subject>` span (kind producer) per task, whose context that task carries
///   (``Options/createSpansInBatches``).
/// - Processing: a `process <subject>` span (kind consumer) per handler run, whose **parent** is the context the
///   task carries, so the trace runs from the request that enqueued the task to the handler that ran it; a task
///   without one starts a new trace. Tasks the handler enqueues are children of its span.
///
/// The headers are written and read by the bootstrapped instrument (or the `tracer` given): the library only
/// carries them. Put `QueueTracing` first in the middleware list, so that its spans enclose the other middleware and
/// it sees the result they return.
public struct QueueTracing: QueueMiddleware {
    /// How batches are traced.
    public struct Options: Sendable {
        /// One `create` span per task of a batch, whose context the task carries (the OpenTelemetry
        /// recommendation); when `false`, every task of a batch carries the batch's `send` span context.
        public var createSpansInBatches = true

        /// The defaults.
        public init() {}
    }

    let tracer: any Tracer
    let options: Options

    /// The enqueue call the current task is inside of, for ``willEnqueue(_:)``.
    @TaskLocal static var sending: EnqueueOperation?

    /// Creates the middleware.
    /// - Parameters:
    ///   - tracer: Where spans go and how context is written to headers; by default the bootstrapped
    ///     `InstrumentationSystem.tracer` at the time of this call.
    ///   - options: How batches are traced.
    public init(tracer: (any Tracer)? = nil, options: Options = Options()) {
        self.tracer = tracer ?? InstrumentationSystem.tracer
        self.options = options
    }

    /// Runs the enqueue call inside a `send` span.
    public func send(
        _ operation: EnqueueOperation, next: () async throws(ProtoqueueError) -> EnqueueOutcome
    ) async throws(ProtoqueueError) -> EnqueueOutcome {
        let batch = operation.kind != .single
        // With a create span per task, those are the producer spans and the batch's send span is a client span.
        let kind: SpanKind = batch && options.createSpansInBatches ? .client : .producer
        let span = tracer.startSpan(
            "send \(operation.subject)", context: InstrumentationContext.current ?? .topLevel, ofKind: kind)
        defer { span.end() }
        span.attributes = MessagingAttributes.common(operation: "send", destination: operation.subject)
        if case .batch(let count?) = operation.kind {
            span.attributes["messaging.batch.message_count"] = count
        }
        let result = await InstrumentationContext.withValue(span.context) {
            await Self.$sending.withValue(operation) { () async -> Result<EnqueueOutcome, ProtoqueueError> in
                do throws(ProtoqueueError) {
                    return .success(try await next())
                } catch {
                    return .failure(error)
                }
            }
        }
        switch result {
        case .success(let outcome):
            if let receipt = outcome.receipt {
                span.attributes["messaging.message.id"] = receipt.id.rawValue
            } else if batch {
                span.attributes["messaging.batch.message_count"] = outcome.succeeded + outcome.failed
                if outcome.failed > 0 {
                    span.attributes["error.type"] = outcome.failures.keys.map(\.name).sorted().first
                    span.setStatus(SpanStatus(code: .error, message: "\(outcome.failed) tasks were not enqueued"))
                }
            }
            return outcome
        case .failure(let error):
            span.recordError(error)
            span.attributes["error.type"] = error.code.name
            span.setStatus(SpanStatus(code: .error, message: error.message))
            throw error
        }
    }

    /// Writes the current trace context (for a batch task, that of its own `create` span) into the task's headers.
    public func willEnqueue(_ task: inout OutgoingTask) async throws(ProtoqueueError) {
        let current = InstrumentationContext.current ?? .topLevel
        guard let operation = Self.sending, operation.kind != .single, options.createSpansInBatches else {
            tracer.inject(current, into: &task.headers, using: TraceHeaders.Injector())
            return
        }
        let span = tracer.startSpan("create \(operation.subject)", context: current, ofKind: .producer)
        span.attributes = MessagingAttributes.common(operation: "create", destination: operation.subject)
        span.attributes["messaging.message.id"] = task.id.rawValue
        tracer.inject(span.context, into: &task.headers, using: TraceHeaders.Injector())
        span.end()
    }

    /// Runs the handler inside a `process` span whose parent is the context the task carries.
    public func process(
        _ task: any ProtoqueueMessage, context: TaskContext, next: () async throws -> TaskResult
    ) async throws -> TaskResult {
        var parent = InstrumentationContext.topLevel
        tracer.extract(context.headers, into: &parent, using: TraceHeaders.Extractor())
        let span = tracer.startSpan("process \(context.subject)", context: parent, ofKind: .consumer)
        defer { span.end() }
        if span.isRecording {
            var attributes = MessagingAttributes.common(operation: "process", destination: context.subject)
            attributes["messaging.message.id"] = context.id.rawValue
            attributes["messaging.consumer.group.name"] = context.consumer
            attributes["protoqueue.attempt"] = context.attempt
            span.attributes = attributes
        }
        do {
            let result = try await InstrumentationContext.withValue(span.context) { try await next() }
            if case .success = result { return result }
            markFailed(span, TraceErrorType.of(.returned(result), context: context))
            return result
        } catch {
            span.recordError(error)
            // Stopped while running (the worker is shutting down): not the task's failure.
            markFailed(span, TraceErrorType.of(Task.isCancelled ? .cancelled : .threw(error), context: context))
            throw error
        }
    }

    /// Sets `error.type` and the error status, when the run failed (`errorType` is not `nil`).
    private func markFailed(_ span: some Span, _ errorType: String?) {
        guard let errorType else { return }
        span.attributes["error.type"] = errorType
        span.setStatus(SpanStatus(code: .error))
    }
}

/// The attributes every span of ``QueueTracing`` has.
enum MessagingAttributes {
    /// `nats` is not a registered `messaging.system` value yet; the conventions allow a custom one.
    static func common(operation: String, destination: String) -> SpanAttributes {
        var attributes = SpanAttributes()
        attributes["messaging.system"] = "nats"
        attributes["messaging.operation.type"] = operation
        attributes["messaging.operation.name"] = operation
        attributes["messaging.destination.name"] = destination
        return attributes
    }
}
