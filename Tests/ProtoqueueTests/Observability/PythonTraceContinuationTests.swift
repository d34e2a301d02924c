import Foundation
import InMemoryTracing
import Protoqueue
import Testing
import Tracing

/// A Python producer (nats-py, opentelemetry-sdk) enqueues inside its own span; the Swift handler's `process` span
/// continues that trace, and a task the handler enqueues carries it on, with the caller's `tracestate`.
@Suite(
    "Python trace continuation (opentelemetry-sdk producer, Swift QueueTracing worker)",
    .enabled(
        if: TestEnvironment.serverTestsEnabled && PythonPeer.available,
        "needs nats-server, protoc and a Python with nats-py, protobuf and opentelemetry-sdk")
)
struct PythonTraceContinuationTests {
    struct Produced: Decodable {
        var id: String
        var trace_id: String
        var span_id: String
        var traceparent: String
        var tracestate: String?
    }

    @Test func theSwiftHandlerContinuesThePythonProducersTrace() async throws {
        try await PythonPeer.checkPackages()
        let url = try await SharedServer.url()
        let bindings = try await PythonPeer.generateBindings()
        defer { try? FileManager.default.removeItem(at: bindings) }
        let connection = try await connect(url)
        let tracer = W3CInMemoryTracer()
        let tracing = QueueTracing(tracer: tracer)
        let name = uniqueName("pytrace")
        let queue = try await Queue<InteropTask>(
            connection: connection, name: name, middleware: [tracing], logger: testLogger())
        let followUps = try await Queue<InteropTask>(
            connection: connection, name: uniqueName("pytrace-next"), middleware: [tracing], logger: testLogger())
        let result = try await PythonPeer.run([
            PythonPeer.interpreter, PythonPeer.script, "produce-traced", url, name, "2", bindings.path,
        ])
        try #require(result.status == 0, "python failed: \(result.stderr)")
        let produced = try JSONDecoder().decode([Produced].self, from: Data(result.stdout.utf8))
        try #require(produced.count == 2)
        #expect(produced.allSatisfy { $0.tracestate == "python=1" && $0.traceparent.hasPrefix("00-\($0.trace_id)-") })

        let idle = ProcessOptions(concurrency: 2, fetchTimeout: .milliseconds(200), stopWhenIdle: true)
        try await queue.process(options: idle) { task, context in
            _ = try await followUps.enqueue(
                InteropTask(to: task.to, subject: "follow-up"), options: .init(id: "\(context.id)/next"))
            return .success
        }
        let carried = Recorder<TaskContext>()
        try await followUps.process(options: idle) { _, context in
            carried.record(context)
            return .success
        }

        let spans = tracer.recorder.finishedSpans
        func span(_ kind: SpanKind, id: String) -> FinishedInMemorySpan? {
            spans.first { $0.kind == kind && $0.attributes.get("messaging.message.id") == .string(id) }
        }
        for item in produced {
            let process = try #require(span(.consumer, id: item.id))
            #expect(process.operationName == "process protoqueue.\(name).ready.default")
            #expect(process.traceID == item.trace_id)
            #expect(process.parentSpanID == item.span_id)
            let next = "\(item.id)/next"
            let send = try #require(span(.producer, id: next))
            #expect(send.traceID == item.trace_id && send.parentSpanID == process.spanID)
            let context = try #require(carried.all.first { $0.id.rawValue == next })
            #expect(context.headers["traceparent"] == "00-\(item.trace_id)-\(send.spanID)-01")
            #expect(context.headers["tracestate"] == "python=1")
        }
        await connection.close()
    }
}
