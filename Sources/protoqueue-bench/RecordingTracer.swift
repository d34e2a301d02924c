import Synchronization
import Tracing

/// A tracer that records every finished span in memory and hands them on in batches, the work of an exporter's
/// batch span processor before export: 64-bit ids, the parent from the context, name, kind, attributes, status,
/// errors, start and end; `traceparent` propagation. Each batch of ``batchSize`` spans is read field by field into
/// ``Summary`` and then dropped, as an exporter drops what it sent. For `process-observed` and
/// `enqueue-batch-traced`, where swift-distributed-tracing's `InMemoryTracer` (a test tool that keeps every span
/// and indexes active spans by string ids under one lock) would measure itself rather than the library.
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

    /// What the batches handed on held.
    struct Summary: Sendable {
        /// Spans per kind, in the order of ``kinds``.
        private var counts = [Int](repeating: 0, count: Summary.kinds.count)
        /// Spans with a parent (a context that came in with the task, for `process` spans).
        var withParent = 0
        /// Attributes over all spans.
        var attributes = 0
        /// Spans with an error status.
        var failed = 0

        static let kinds: [SpanKind] = [.internal, .server, .client, .producer, .consumer]

        /// Spans of every kind.
        var total: Int { counts.reduce(0, +) }

        /// Spans of `kind`.
        func spans(_ kind: SpanKind) -> Int { counts[Self.kinds.firstIndex(of: kind)!] }

        mutating func add(_ span: Finished) {
            counts[Self.kinds.firstIndex(of: span.kind)!] += 1
            if span.parentID != nil { withParent += 1 }
            attributes += span.attributes.count
            if span.status?.code == .error { failed += 1 }
        }

        mutating func merge(_ other: Summary) {
            for index in counts.indices { counts[index] += other.counts[index] }
            withParent += other.withParent
            attributes += other.attributes
            failed += other.failed
        }
    }

    /// The spans of one export batch (the OpenTelemetry batch processor's default).
    static let batchSize = 512

    private struct State {
        var pending: [Finished] = []
        /// An emptied batch buffer, for the next batch.
        var spare: [Finished]?
        var summary = Summary()
    }
    private let state = Mutex(State())
    private let nextID = Atomic<UInt64>(1)

    private enum IDsKey: InstrumentationContextKey { typealias Value = (trace: UInt64, span: UInt64) }

    /// Hands on the spans not yet in a full batch and returns what every batch held so far; starts a new summary.
    func takeSummary() -> Summary {
        state.withLock { state in
            for index in state.pending.indices { state.summary.add(state.pending[index]) }
            state.pending.removeAll(keepingCapacity: true)
            defer { state.summary = Summary() }
            return state.summary
        }
    }

    func record(_ span: consuming Finished) {
        // Moved into the batch, not copied (a copy retains each of its strings and its attributes).
        var span: Finished? = consume span
        let full = state.withLock { state -> [Finished]? in
            state.pending.append(span.take()!)
            guard state.pending.count >= Self.batchSize else { return nil }
            let batch = state.pending
            state.pending = state.spare.take() ?? []
            state.pending.reserveCapacity(Self.batchSize)
            return batch
        }
        guard var batch = full else { return }
        var summary = Summary()
        // Read in place: a `for span in batch` loop would copy each span (retaining its strings and attributes).
        for index in batch.indices { summary.add(batch[index]) }
        batch.removeAll(keepingCapacity: true)
        state.withLock { state in
            state.summary.merge(summary)
            if state.spare == nil { state.spare = batch }
        }
    }

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

/// A span of ``RecordingTracer``: its fields under a lock until it ends, then recorded; changes after the end are
/// ignored.
final class RecordedSpan: Span, Sendable {
    let context: InstrumentationContext
    private let tracer: RecordingTracer
    private let state: Mutex<RecordingTracer.Finished?>

    init(tracer: RecordingTracer, context: InstrumentationContext, record: RecordingTracer.Finished) {
        self.tracer = tracer
        self.context = context
        state = Mutex(record)
    }

    var operationName: String {
        get { state.withLock { $0?.name ?? "" } }
        set { state.withLock { $0?.name = newValue } }
    }

    var attributes: SpanAttributes {
        get { state.withLock { $0?.attributes ?? [:] } }
        set { state.withLock { $0?.attributes = newValue } }
    }

    var isRecording: Bool { state.withLock { $0 != nil } }

    func setStatus(_ status: SpanStatus) { state.withLock { $0?.status = status } }
    func addEvent(_ event: SpanEvent) {}
    func addLink(_ link: SpanLink) {}

    func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {
        state.withLock { $0?.errors += 1 }
    }

    func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        guard var record = state.withLock({ $0.take() }) else { return }
        record.end = instant().nanosecondsSinceEpoch
        tracer.record(consume record)
    }
}
