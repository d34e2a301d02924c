import Foundation
import InMemoryTracing
import TaskSchemas
import Testing
import Tracing

@testable import Protoqueue

/// `QueueTracing`, recorded by swift-distributed-tracing's `InMemoryTracer`, on both transports.
@Suite("Tracing")
struct QueueTracingTests {
    /// A request span enqueues a task; its handler enqueues a follow-up: one trace, each span the parent of the next.
    @Test(arguments: Backend.available)
    func oneTraceRunsFromTheRequestThroughTheHandlerToItsFollowUp(_ backend: Backend) async throws {
        let tracer = InMemoryTracer()
        try await withBackend(backend, middleware: [QueueTracing(tracer: tracer)]) { env in
            let subject = env.queue.layout.readySubject
            try await tracer.withSpan("POST /signup", ofKind: .server) { _ in
                _ = try await env.queue.enqueue(EmailTask(to: "x@example.com"), options: .init(id: "welcome"))
            }
            let handlerContexts = Recorder<InMemorySpanContext>()
            try await withProcessor(env.queue) { task, context in
                if let current = InstrumentationContext.current?.inMemorySpanContext {
                    handlerContexts.record(current)
                }
                if context.id == "welcome" {
                    _ = try await env.queue.enqueue(EmailTask(to: "y@example.com"), options: .init(id: "follow-up"))
                }
                return .success
            } body: {
                #expect(await eventually { handlerContexts.count == 2 })
                await env.settle()
            }
            let spans = tracer.finishedSpans
            let request = try #require(spans.first { $0.operationName == "POST /signup" })
            let sends = spans.filter { $0.operationName == "send \(subject)" }
            let processes = spans.filter { $0.operationName == "process \(subject)" }
            try #require(sends.count == 2 && processes.count == 2)
            let send = try #require(sends.first { $0.attributes.get("messaging.message.id") == .string("welcome") })
            let process = try #require(
                processes.first { $0.attributes.get("messaging.message.id") == .string("welcome") })
            let followUp = try #require(
                sends.first { $0.attributes.get("messaging.message.id") == .string("follow-up") })
            let followUpProcess = try #require(
                processes.first { $0.attributes.get("messaging.message.id") == .string("follow-up") })

            #expect(send.kind == .producer && process.kind == .consumer)
            #expect(Set(spans.map(\.traceID)) == [request.traceID])
            #expect(send.parentSpanID == request.spanID)
            #expect(process.parentSpanID == send.spanID)
            #expect(followUp.parentSpanID == process.spanID)
            #expect(followUpProcess.parentSpanID == followUp.spanID)
            #expect(handlerContexts.all.contains(process.spanContext))

            for span in sends + processes {
                #expect(span.attributes.get("messaging.system") == .string("nats"))
                #expect(span.attributes.get("messaging.destination.name") == .string(subject))
                #expect(span.attributes.get("error.type") == nil)
                #expect(span.status == nil)
            }
            #expect(send.attributes.get("messaging.operation.type") == .string("send"))
            #expect(send.attributes.get("messaging.operation.name") == .string("send"))
            #expect(send.attributes.get("messaging.batch.message_count") == nil)
            #expect(process.attributes.get("messaging.operation.type") == .string("process"))
            #expect(process.attributes.get("messaging.consumer.group.name") == .string("\(env.queue.name)-workers"))
            #expect(process.attributes.get("protoqueue.attempt") == .int64(1))
        }
    }

    /// Handler outcomes and their `error.type`: the dead-letter reason, the thrown error's type, `retry`, or none.
    @Test(arguments: Backend.available)
    func failedRunsCarryTheirErrorType(_ backend: Backend) async throws {
        let tracer = InMemoryTracer()
        try await withBackend(backend, maxDeliveries: 2, middleware: [QueueTracing(tracer: tracer)]) { env in
            for subject in ["ok", "fail", "drop", "again", "broken"] {
                _ = try await env.queue.enqueue(
                    EmailTask(to: "x@example.com", subject: subject), options: .init(id: "\(subject)"))
            }
            let runs = Recorder<String>()
            try await withProcessor(env.queue) { task, context in
                runs.record("\(task.subject) \(context.attempt)")
                switch task.subject {
                case "ok": return .success
                case "fail": return .failure("bad input", details: [:])
                case "drop": return .discard(reason: "not wanted")
                case "again": return context.attempt == 1 ? .retry(after: .milliseconds(10)) : .success
                default: throw TaskFailure("broken")
                }
            } body: {
                #expect(await eventually { runs.count >= 5 })
                await env.settle()
                await env.advance(by: .milliseconds(400))
                #expect(await eventually { runs.count == 7 })
                await env.settle()
            }
            let processes = tracer.finishedSpans.filter { $0.kind == .consumer }
            func errorTypes(_ id: String) -> [SpanAttribute?] {
                func attempt(_ span: FinishedInMemorySpan) -> Int64 {
                    if case .int64(let value) = span.attributes.get("protoqueue.attempt") { return value }
                    return 0
                }
                return processes.filter { $0.attributes.get("messaging.message.id") == .string(id) }
                    .sorted { attempt($0) < attempt($1) }
                    .map { $0.attributes.get("error.type") }
            }
            #expect(errorTypes("ok") == [nil])
            #expect(errorTypes("fail") == [.string("failed")])
            #expect(errorTypes("drop") == [nil])
            #expect(errorTypes("again") == [.string("retry"), nil])
            #expect(
                errorTypes("broken") == [.string(String(reflecting: TaskFailure.self)), .string("retriesExhausted")])
            let broken = processes.filter { $0.attributes.get("messaging.message.id") == .string("broken") }
            #expect(broken.allSatisfy { $0.status?.code == .error && $0.errors.count == 1 })
        }
    }

    /// A batch: one `send` span with the task count, one `create` span per task (or none, by option), each task's
    /// `process` span a child of the context it carries; a task refused before sending marks the batch span.
    @Test(arguments: [true, false])
    func aBatchGetsOneSendSpanAndEachTaskItsCreationContext(_ createSpans: Bool) async throws {
        let tracer = InMemoryTracer()
        var options = QueueTracing.Options()
        options.createSpansInBatches = createSpans
        try await withBackend(.memory, middleware: [QueueTracing(tracer: tracer, options: options)]) { env in
            let subject = env.queue.layout.readySubject
            let items = ["a", "b", "c"].map {
                EnqueueItem(EmailTask(to: "x@example.com"), options: .init(id: TaskID($0)))
            }
            let invalid = EnqueueItem(
                EmailTask(to: "x@example.com"), options: .init(id: "d", metadata: ["no key": "x"]))
            let results = try await env.queue.enqueueBatch(items + [invalid])
            #expect(results.filter { (try? $0.get()) != nil }.count == 3)
            try await withProcessor(env.queue) { _, _ in
                .success
            } body: {
                #expect(await eventually { tracer.finishedSpans.filter { $0.kind == .consumer }.count == 3 })
            }
            let spans = tracer.finishedSpans
            let send = try #require(spans.first { $0.operationName == "send \(subject)" })
            var creates: [FinishedInMemorySpan] = []
            for span in spans where span.operationName == "create \(subject)" { creates.append(span) }
            #expect(send.kind == (createSpans ? .client : .producer))
            #expect(send.attributes.get("messaging.batch.message_count") == .int64(4))
            #expect(send.attributes.get("error.type") == .string("invalidHeader"))
            #expect(send.status?.code == .error)
            #expect(send.attributes.get("messaging.message.id") == nil)
            #expect(creates.count == (createSpans ? 4 : 0))
            #expect(creates.allSatisfy { $0.kind == .producer && $0.parentSpanID == send.spanID })
            for id in ["a", "b", "c"] {
                let process = try #require(
                    spans.first { $0.kind == .consumer && $0.attributes.get("messaging.message.id") == .string(id) })
                let carried =
                    createSpans
                    ? creates.first { $0.attributes.get("messaging.message.id") == .string(id) }?.spanID : send.spanID
                #expect(process.parentSpanID == carried)
                #expect(process.traceID == send.traceID)
            }
        }
    }

    /// A task without trace headers (another producer, or a queue without `QueueTracing`) starts a trace of its own.
    @Test func aTaskWithoutContextStartsANewTrace() async throws {
        let tracer = InMemoryTracer()
        try await withBackend(.memory, middleware: [QueueTracing(tracer: tracer)]) { env in
            try env.publishRaw(
                body: try EmailTask(to: "x@example.com").serializedBytes(), headers: foreignHeaders(id: "plain"))
            try await withProcessor(env.queue) { _, _ in
                .success
            } body: {
                #expect(await eventually { tracer.finishedSpans.count == 1 })
            }
            let process = try #require(tracer.finishedSpans.first)
            #expect(process.kind == .consumer && process.parentSpanID == nil)
            #expect(process.attributes.get("messaging.message.id") == .string("plain"))
        }
    }

    /// `process` span names and fixed attributes are made once per subject and consumer group, and each pair keeps
    /// its own, whichever was used last.
    @Test func processSpanTemplatesKeepEachSubjectsOwn() {
        let templates = ProcessSpanTemplates()
        for (subject, consumer) in [
            ("a.ready.default", "a-workers"), ("b.ready.default", "b-workers"),
            ("a.ready.default", "a-workers"), ("a.ready.default", "other"),
        ] {
            let template = templates.template(subject: subject, consumer: consumer)
            #expect(template.name == "process \(subject)")
            #expect(template.attributes.get("messaging.destination.name") == .string(subject))
            #expect(template.attributes.get("messaging.consumer.group.name") == .string(consumer))
            #expect(template.attributes.get("messaging.operation.type") == .string("process"))
            #expect(template.attributes.get("messaging.system") == .string("nats"))
            #expect(template.attributes.count == 5)
        }
    }

    /// The decision behind a `process` span's `error.type`, over its whole table.
    @Test func theErrorTypeOfEveryOutcome() {
        struct Outage: Error {}
        let cases: [(TaskOutcome, Int, Int?, String?)] = [
            (.returned(.success), 1, 3, nil),
            (.returned(.discard(reason: "x")), 1, 3, nil),
            (.returned(.failure("x", details: [:])), 1, 3, "failed"),
            (.returned(.retry(after: nil)), 1, 3, "retry"),
            (.returned(.retry(after: nil)), 3, 3, "retriesExhausted"),
            (.returned(.retry(after: nil)), 9, nil, "retry"),
            (.threw(Outage()), 1, 3, String(reflecting: Outage.self)),
            (.threw(Outage()), 3, 3, "retriesExhausted"),
            (.threw(Outage()), 9, nil, String(reflecting: Outage.self)),
            (.cancelled, 1, 3, nil),
            (.returned(.success), 5, 3, "maxDeliveries"),
        ]
        for (outcome, attempt, maxAttempts, expected) in cases {
            #expect(
                TraceErrorType.of(outcome, attempt: attempt, maxAttempts: maxAttempts) == expected,
                "\(outcome) at attempt \(attempt) of \(maxAttempts.map(String.init) ?? "unlimited")")
        }
    }

    /// Trace headers: an empty value is never written (nats.c reads it as the next header line); names are read
    /// exactly.
    @Test func traceHeadersSkipEmptyValues() {
        var headers: [String: String] = [:]
        TraceHeaders.Injector().inject("00-abc-def-01", forKey: "traceparent", into: &headers)
        TraceHeaders.Injector().inject("", forKey: "tracestate", into: &headers)
        #expect(headers == ["traceparent": "00-abc-def-01"])
        var received = ReceivedHeaders(headers)
        // A repeated name reads as its first value.
        received.append("traceparent", "00-later-value-01")
        #expect(TraceHeaders.Extractor().extract(key: "traceparent", from: received) == "00-abc-def-01")
        #expect(TraceHeaders.Extractor().extract(key: "tracestate", from: received) == nil)
        #expect(TraceHeaders.Extractor().extract(key: "Traceparent", from: received) == nil)
    }
}
