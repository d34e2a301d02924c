/// `process-memory`: peak resident memory (MiB) of a worker processing 1,000,000 queued tasks (no-op handler,
/// concurrency 128), beside the raw nats.c fetch+ack loop over the same number. The peak is reset (Linux
/// `clear_refs`) after the queue is filled, so it covers processing only.
let processMemoryScenario = Scenario(
    name: "process-memory",
    summary: "peak RSS (MiB) processing 1,000,000 tasks vs raw nats.c fetch+ack loop"
) {
    let count = Int(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_MEMORY_COUNT") ?? "") ?? 1_000_000
    // Both queues are filled first, so that neither side's peak includes the other's filling.
    let rawQueue = try ProcessBench.prepare(count: count, name: "bench_mem_raw")
    let ourQueue = try ProcessBench.prepare(count: count, name: "bench_mem_ours")
    let baseline = try ProcessBench.raw(prepared: rawQueue, count: count, batch: 128, measureMemory: true)
    let ours = try ProcessBench.library(prepared: ourQueue, count: count, concurrency: 128, measureMemory: true)
    print("info process-memory: \(count) tasks, ours \(Int(ours.rate)) msgs/s, raw \(Int(baseline.rate)) msgs/s")
    return BenchResult(name: "process-memory", ours: ours.peakMiB, baseline: baseline.peakMiB, unit: "MiB")
}
