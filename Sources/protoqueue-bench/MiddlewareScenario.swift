import Protoqueue

/// `process-middleware`: what middleware costs a worker. The same `process` run as the `process` scenario (no-op
/// handler, concurrency 128, 100,000 queued tasks), once with one middleware whose three hooks do nothing beyond
/// calling on (ours) and once without any (baseline), alternating. A queue with middleware waits, on each
/// handler's task, for the settlement to be on the wire before the settled hook runs.
let processMiddlewareScenario = Scenario(
    name: "process-middleware",
    summary: "tasks/s, process with one pass-through middleware vs without any, no-op handler, 100,000 tasks"
) {
    let rates = try ProcessBench.withAndWithout([PassThrough()], label: "mw")
    return BenchResult(name: "process-middleware", ours: rates.ours, baseline: rates.baseline, unit: "msgs/s")
}

extension ProcessBench {
    /// The `process` run (no-op handler, concurrency 128, `PROTOQUEUE_BENCH_PROCESS_COUNT` or 100,000 queued tasks)
    /// plain (baseline) and with `middleware` and `events` (ours), alternating, twice: the best rate of each.
    /// `afterRound` gets the event counts of each of our runs.
    static func withAndWithout(
        _ middleware: [any QueueMiddleware] = [], events: EventConfiguration = .disabled, label: String,
        afterRound: (_ round: Int, _ events: EventCounts) -> Void = { _, _ in }
    ) throws -> (ours: Double, baseline: Double, count: Int) {
        let count = Int(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_PROCESS_COUNT") ?? "") ?? 100_000
        var ours: [Double] = []
        var baseline: [Double] = []
        for round in 0..<2 {
            baseline.append(try library(count: count, concurrency: 128, label: "plain\(round)").rate)
            let run = try library(
                count: count, concurrency: 128, label: "\(label)\(round)", middleware: middleware, events: events)
            afterRound(round, run.events)
            ours.append(run.rate)
        }
        return (ours.max()!, baseline.max()!, count)
    }
}

/// A middleware that implements every hook and changes nothing.
struct PassThrough: QueueMiddleware {
    func willEnqueue(_ task: inout OutgoingTask) async throws(ProtoqueueError) {}

    func process(
        _ task: any ProtoqueueMessage, context: TaskContext, next: () async throws -> TaskResult
    ) async throws -> TaskResult {
        try await next()
    }

    func settled(_ settlement: TaskSettlement) async {}
}
