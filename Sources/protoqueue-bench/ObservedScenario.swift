import Protoqueue
import Tracing

/// `process-observed`: the `process` scenario with observability on, beside its raw nats.c baseline. The library
/// side runs with `QueueTracing` recording every span into ``RecordingTracer`` and `QueueMetrics` adding every value
/// into ``SummingMetrics``; the raw side is the `process` baseline (fetch + ack
/// per message). Alternating, twice; the best of each. For profiling, `PROTOQUEUE_BENCH_OBSERVED=tracing` or
/// `metrics` keeps only that middleware, and `noop-tracer` runs `QueueTracing` alone with swift-distributed-tracing's
/// `NoOpTracer`.
let processObservedScenario = Scenario(
    name: "process-observed",
    summary: "tasks/s, process with QueueTracing and QueueMetrics into in-memory recorders vs raw nats.c"
) {
    let count = Int(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_PROCESS_COUNT") ?? "") ?? 100_000
    let batch = 128
    let tracer = RecordingTracer()
    let metrics = SummingMetrics()
    let only = ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_OBSERVED")
    guard [nil, "tracing", "metrics", "noop-tracer"].contains(only) else {
        throw BenchError("PROTOQUEUE_BENCH_OBSERVED=\(only!): expected tracing, metrics or noop-tracer")
    }
    let recordsSpans = only == nil || only == "tracing"
    let recordsMetrics = only == nil || only == "metrics"
    var middleware: [any QueueMiddleware] = []
    if recordsSpans { middleware.append(QueueTracing(tracer: tracer)) }
    if only == "noop-tracer" { middleware.append(QueueTracing(tracer: NoOpTracer())) }
    if recordsMetrics { middleware.append(QueueMetrics(factory: metrics)) }
    var ours: [Double] = []
    var baseline: [Double] = []
    // PROTOQUEUE_BENCH_SIDE=ours|raw runs one side only (for profiling); the other is then reported as 1.
    let side = ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_SIDE")
    for round in 0..<2 {
        baseline.append(
            side == "ours" ? 1 : try ProcessBench.raw(count: count, batch: batch, label: "observed-raw\(round)"))
        ours.append(
            side == "raw"
                ? 1
                : try ProcessBench.library(
                    count: count, concurrency: batch, label: "observed\(round)", middleware: middleware
                ).rate)
        // Every handled task is one `process` span with its seven attributes, and one consumed delivery: recorders
        // that dropped values would show it here.
        let summary = tracer.takeSummary()
        let spans = summary.spans(.consumer)
        guard (spans == count && summary.attributes == 7 * count) || !recordsSpans || side == "raw" else {
            throw BenchError(
                "process-observed recorded \(spans) process spans with \(summary.attributes) attributes, not \(count) "
                    + "with \(7 * count)")
        }
        if recordsSpans && side != "raw" {
            print(
                "observed run \(round): \(spans) process spans, \(summary.withParent) with a parent, "
                    + "\(summary.attributes) attributes, \(summary.failed) failed")
        }
    }
    let consumed = metrics.total(of: "messaging.client.consumed.messages")
    guard consumed == Int64(2 * count) || !recordsMetrics || side == "raw" else {
        throw BenchError("process-observed recorded \(consumed) consumed deliveries, not \(2 * count)")
    }
    return BenchResult(name: "process-observed", ours: ours.max()!, baseline: baseline.max()!, unit: "msgs/s")
}
