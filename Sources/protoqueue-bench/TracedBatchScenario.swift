import Protoqueue
import TaskSchemas

/// `enqueue-batch-traced`: what a `create` span per task costs a batch. `enqueueBatch` of 100,000 tasks
/// (`BENCH_BATCH`) through `QueueTracing` into ``RecordingTracer``, with `createSpansInBatches` on (ours: one `send`
/// span and a `create` span per task, whose context each task carries) and off (baseline: every task carries the
/// `send` span's context), alternating, three rounds; the median of each. Also prints the rate without middleware.
let enqueueBatchTracedScenario = Scenario(
    name: "enqueue-batch-traced",
    summary: "msgs/s, enqueueBatch of 100,000 through QueueTracing with a create span per task vs without"
) {
    let count = Int(ProcessInfoEnvironment.value("BENCH_BATCH") ?? "") ?? 100_000
    let tasks = Array(repeating: SampleEmailTask.value, count: count)
    return try runAsync {
        let connection = try await BenchNATS.connect()
        func rate(createSpans: Bool?) async throws -> Double {
            let tracer = RecordingTracer()
            var options = QueueTracing.Options()
            options.createSpansInBatches = createSpans ?? false
            let middleware: [any QueueMiddleware] =
                createSpans == nil ? [] : [QueueTracing(tracer: tracer, options: options)]
            let queue = try await Queue<EmailTask>(
                connection: connection, name: "bench_traced_\(UInt32.random(in: 0...UInt32.max))",
                middleware: middleware, logger: BenchNATS.logger)
            let start = Bench.now()
            let results = try await queue.enqueueBatch(tasks)
            let seconds = Double(Bench.now() - start) / 1e9
            guard results.allSatisfy({ (try? $0.get()) != nil }) else { throw BenchError("a traced batch task failed") }
            let spans = tracer.takeSummary().total
            let expected = createSpans == nil ? 0 : createSpans! ? count + 1 : 1
            guard spans == expected else { throw BenchError("recorded \(spans) spans, not \(expected)") }
            return Double(count) / seconds
        }
        var ours: [Double] = []
        var baseline: [Double] = []
        var plain: [Double] = []
        for _ in 0..<3 {
            baseline.append(try await rate(createSpans: false))
            ours.append(try await rate(createSpans: true))
            plain.append(try await rate(createSpans: nil))
        }
        await connection.close()
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        print("enqueue-batch-traced: without middleware \(Int(median(plain))) tasks/s (median of 3)")
        return BenchResult(
            name: "enqueue-batch-traced", ours: median(ours), baseline: median(baseline), unit: "msgs/s")
    }
}
