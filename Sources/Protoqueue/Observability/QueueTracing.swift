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
    let processSpans = ProcessSpanTemplates()

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
        // Built here and handed to the span once, at its end: each change through `span.attributes` copies them.
        var attributes = MessagingAttributes.common(operation: "send", destination: operation.subject, more: 2)
        if case .batch(let count?) = operation.kind {
            attributes.set("messaging.batch.message_count", value: .int64(Int64(count)))
        }
        defer {
            span.attributes = attributes
            span.end()
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
                attributes.set("messaging.message.id", value: .string(receipt.id.rawValue))
            } else if batch {
                let count = Int64(outcome.succeeded + outcome.failed)
                attributes.set("messaging.batch.message_count", value: .int64(count))
                if let firstCode = outcome.failures.keys.map(\.name).min() {
                    attributes.set("error.type", value: .string(firstCode))
                    span.setStatus(SpanStatus(code: .error, message: "\(outcome.failed) tasks were not enqueued"))
                }
            }
            return outcome
        case .failure(let error):
            span.recordError(error)
            attributes.set("error.type", value: .string(error.code.name))
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
        var attributes = MessagingAttributes.common(operation: "create", destination: operation.subject)
        attributes.set("messaging.message.id", value: .string(task.id.rawValue))
        span.attributes = attributes
        tracer.inject(span.context, into: &task.headers, using: TraceHeaders.Injector())
        span.end()
    }

    /// Runs the handler inside a `process` span whose parent is the context the task carries.
    public func process(
        _ task: any ProtoqueueMessage, context: TaskContext, next: () async throws -> TaskResult
    ) async throws -> TaskResult {
        var parent = InstrumentationContext.topLevel
        tracer.extract(context.receivedHeaders, into: &parent, using: TraceHeaders.Extractor())
        let template = processSpans.template(subject: context.subject, consumer: context.consumer)
        let span = tracer.startSpan(template.name, context: parent, ofKind: .consumer)
        defer { span.end() }
        if span.isRecording {
            var attributes = template.attributes
            attributes.set("messaging.message.id", value: .string(context.id.rawValue))
            attributes.set("protoqueue.attempt", value: .int64(Int64(context.attempt)))
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

extension QueueTracing: SettlementRecorder {
    /// None: spans end with the handler's run.
    func recording(queue: String, taskType: String) -> SettlementRecording? { nil }
}

/// The attributes every span of ``QueueTracing`` has.
enum MessagingAttributes {
    /// `nats` is not a registered `messaging.system` value yet; the conventions allow a custom one.
    /// - Parameter more: Room for this many more attributes, so that adding them does not grow the storage.
    static func common(operation: String, destination: String, more: Int = 1) -> SpanAttributes {
        var attributes = SpanAttributes()
        attributes.reserveCapacity(4 + more)
        attributes.set("messaging.system", value: .string("nats"))
        attributes.set("messaging.operation.type", value: .string(operation))
        attributes.set("messaging.operation.name", value: .string(operation))
        attributes.set("messaging.destination.name", value: .string(destination))
        return attributes
    }
}
