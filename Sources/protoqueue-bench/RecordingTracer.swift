import Synchronization
import Tracing

/// A tracer that records every finished span in memory, the work an exporter's batch processor does before export:
/// 64-bit ids, the parent from the context, name, kind, attributes, status, errors, start and end; `traceparent`
/// propagation. For `process-observed`, where swift-distributed-tracing's `InMemoryTracer` (a test tool that also
/// indexes active spans by string ids under one lock) would measure itself rather than the library.
final class RecordingTracer: Tracer, Sendable {
    struct Finished: Sendable {
        var name: String
        var kind: SpanKind
        var traceID: UInt64
        var spanID: UInt64
        var parentID: UInt64?
        var attributes: SpanAttributes
        var status: SpanStatus?
        var errors: Int
        var start: UInt64
        var end: UInt64
    }

    private let finished = Mutex<[Finished]>([])
    private let nextID = Atomic<UInt64>(1)

    private enum IDsKey: InstrumentationContextKey { typealias Value = (trace: UInt64, span: UInt64) }

    /// Takes the spans finished so far.
    func popFinished() -> [Finished] {
        finished.withLock { spans in
            defer { spans = [] }; return spans
        }
    }

    func record(_ span: Finished) { finished.withLock { $0.append(span) } }

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> InstrumentationContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> RecordedSpan {
        var context = context()
        let parent = context[IDsKey.self]
        let spanID = nextID.add(1, ordering: .relaxed).newValue
        let ids = (trace: parent?.trace ?? spanID, span: spanID)
        context[IDsKey.self] = ids
        return RecordedSpan(
            tracer: self, context: context,
            record: Finished(
                name: operationName, kind: kind, traceID: ids.trace, spanID: spanID, parentID: parent?.span,
                attributes: [:], status: nil, errors: 0, start: instant().nanosecondsSinceEpoch, end: 0))
    }

    func forceFlush() {}

    func inject<Carrier, Inject: Injector>(
        _ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let ids = context[IDsKey.self] else { return }
        injector.inject("00-\(ids.trace)-\(ids.span)-01", forKey: "traceparent", into: &carrier)
    }

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let parent = extractor.extract(key: "traceparent", from: carrier) else { return }
        let parts = parent.split(separator: "-")
        guard parts.count == 4, let trace = UInt64(parts[1]), let span = UInt64(parts[2]) else { return }
        context[IDsKey.self] = (trace, span)
    }
}

/// A span of ``RecordingTracer``: its fields under a lock until it ends, then recorded.
final class RecordedSpan: Span, Sendable {
    let context: InstrumentationContext
    private let tracer: RecordingTracer
    private let state: Mutex<RecordingTracer.Finished>

    init(tracer: RecordingTracer, context: InstrumentationContext, record: RecordingTracer.Finished) {
        self.tracer = tracer
        self.context = context
        state = Mutex(record)
    }

    var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { $0.name = newValue } }
    }

    var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { $0.attributes = newValue } }
    }

    var isRecording: Bool { true }

    func setStatus(_ status: SpanStatus) { state.withLock { $0.status = status } }
    func addEvent(_ event: SpanEvent) {}
    func addLink(_ link: SpanLink) {}

    func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {
        state.withLock { $0.errors += 1 }
    }

    func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        var record = state.withLock { $0 }
        record.end = instant().nanosecondsSinceEpoch
        tracer.record(record)
    }
}
