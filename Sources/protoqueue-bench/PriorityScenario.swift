import Foundation
import Protoqueue
import Synchronization
import TaskSchemas

#if canImport(Glibc)
import Glibc
#endif

/// `priority-share`: three tiers weighted 6/3/1, each backlogged with 100,000 tasks, processed by one worker
/// (concurrency 128, no-op handler). While every tier still has work (the first 150,000 starts), each tier's share of
/// the started tasks is compared with its weight's share; `ours` is the largest gap in percentage points. The
/// baseline is the same tasks on a queue without tiers (one consumer, the three kinds interleaved as enqueued), which
/// is what a worker without priorities gives. Needs nats-server 2.11 or later (`NATS_SERVER_BIN`).
/// PROTOQUEUE_BENCH_PRIORITY_COUNT changes the 100,000.
let priorityShareScenario = Scenario(
    name: "priority-share",
    summary: "largest gap (points) between a tier's share of started tasks and its weight, tiers 6/3/1 backlogged"
) {
    let count = Int(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_PRIORITY_COUNT") ?? "") ?? 100_000
    return try runAsync {
        let tiers = [("high", 6.0), ("normal", 3.0), ("low", 1.0)]
        let ours = try await PriorityBench.shareError(tiered: true, tiers: tiers, count: count)
        let baseline = try await PriorityBench.shareError(tiered: false, tiers: tiers, count: count)
        return [BenchResult(name: "priority-share-error", ours: ours, baseline: baseline, unit: "points")]
    }
}

/// `priority-latency`: one `high` task every 10 ms (1,000 of them) while a worker (concurrency 128, no-op handler)
/// works through a backlog of 1,000,000 `low` tasks; `ours` is the 99th percentile of the time from just before each
/// `high` task's enqueue to its handler's start, in ms. The baseline is the same stream of `high` tasks on the same
/// tiered queue with no backlog. Needs nats-server 2.11 or later. PROTOQUEUE_BENCH_PRIORITY_BACKLOG changes the
/// 1,000,000.
let priorityLatencyScenario = Scenario(
    name: "priority-latency",
    summary: "p99 ms from enqueue to start of top-tier tasks behind a 1,000,000-task bottom-tier backlog vs none"
) {
    let backlog = Int(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_PRIORITY_BACKLOG") ?? "") ?? 1_000_000
    return try runAsync {
        let idle = try await PriorityBench.urgentLatency(backlog: 0)
        let busy = try await PriorityBench.urgentLatency(backlog: backlog)
        return [BenchResult(name: "priority-latency-p99", ours: busy, baseline: idle, unit: "ms")]
    }
}

enum PriorityBench {
    static func configuration(_ tiers: [(String, Double)]?) -> QueueConfiguration {
        var configuration = QueueConfiguration(consumer: .init(maxAckPending: 10_000))
        if let tiers {
            configuration.priorities = .weighted(tiers.map { (name: $0.0, weight: Int($0.1)) }, default: tiers.last!.0)
        }
        return configuration
    }

    /// Largest |share − weight share| in points over the first starts while every tier has work.
    static func shareError(tiered: Bool, tiers: [(String, Double)], count: Int) async throws -> Double {
        let connection = try await BenchNATS.connect()
        let name = "bench_priority_share_\(tiered ? "tiers" : "none")_\(getpid())"
        let queue = try await Queue<EmailTask>(
            connection: connection, name: name, configuration: configuration(tiered ? tiers : nil),
            logger: BenchNATS.logger)
        // The kinds interleaved, as a producer of all three would send them; the tier rides in the subject field.
        var items: [EnqueueItem<EmailTask>] = []
        items.reserveCapacity(count * tiers.count)
        for index in 0..<count {
            for (tier, _) in tiers {
                var task = SampleEmailTask.value
                task.subject = tier
                items.append(
                    EnqueueItem(
                        task,
                        options: EnqueueOptions(
                            id: TaskID("\(tier)-\(index)"),
                            priority: tiered ? tier : nil)))
            }
        }
        let failed = try await queue.enqueueBatch(items).filter { (try? $0.get()) == nil }.count
        guard failed == 0 else { throw BenchError("\(failed) tasks were not enqueued") }
        let window = count * 3 / 2
        let counts = Mutex<[String: Int]>([:])
        let seen = Atomic<Int>(0)
        try await queue.process(options: ProcessOptions(concurrency: 128, stopWhenIdle: true)) { task, _ in
            if seen.add(1, ordering: .relaxed).newValue <= window {
                counts.withLock { $0[task.subject, default: 0] += 1 }
            }
            return .success
        }
        await connection.close()
        let total = Double(window)
        let weights = tiers.map(\.1).reduce(0, +)
        let started = counts.withLock { $0 }
        let shares = tiers.map { "\($0.0) \(String(format: "%.1f", Double(started[$0.0] ?? 0) / total * 100))%" }
        FileHandle.standardError.write(Data("priority-share (\(tiered ? "tiers" : "no tiers")): \(shares)\n".utf8))
        return tiers.map { tier, weight in abs(Double(started[tier] ?? 0) / total - weight / weights) * 100 }.max() ?? 0
    }

    /// p99 ms from enqueue to start of 1,000 `high` tasks sent every 10 ms behind `backlog` `low` tasks.
    static func urgentLatency(backlog: Int) async throws -> Double {
        let connection = try await BenchNATS.connect()
        let queue = try await Queue<EmailTask>(
            connection: connection, name: "bench_priority_latency_\(backlog)_\(getpid())",
            configuration: configuration([("high", 6), ("low", 1)]), logger: BenchNATS.logger)
        var enqueued = 0
        while enqueued < backlog {
            let size = min(100_000, backlog - enqueued)
            let items = (0..<size).map { _ in
                EnqueueItem(SampleEmailTask.value, options: EnqueueOptions(priority: "low"))
            }
            let failed = try await queue.enqueueBatch(items).filter { (try? $0.get()) == nil }.count
            guard failed == 0 else { throw BenchError("\(failed) backlog tasks were not enqueued") }
            enqueued += size
        }
        let sent = Mutex<[String: UInt64]>([:])
        let samples = Mutex<[Double]>([])
        let worker = Task {
            try await queue.process(options: ProcessOptions(concurrency: 128)) { task, context in
                guard task.subject == "urgent" else { return .success }
                let now = Bench.now()
                if let start = sent.withLock({ $0[context.id.rawValue] }) {
                    samples.withLock { $0.append(Double(now - start) / 1e6) }
                }
                return .success
            }
        }
        try await Task.sleep(for: .seconds(1))
        var urgent = SampleEmailTask.value
        urgent.subject = "urgent"
        for index in 0..<1000 {
            let id = "urgent-\(index)"
            sent.withLock { $0[id] = Bench.now() }
            _ = try await queue.enqueue(urgent, options: EnqueueOptions(id: TaskID(id), priority: "high"))
            try await Task.sleep(for: .milliseconds(10))
        }
        // The last urgent task must have waited behind the backlog too.
        let left = try await queue.stats().messages
        if backlog > 0 && left < 1000 {
            throw BenchError("the backlog was worked off before the urgent tasks were all sent (\(left) left)")
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while samples.withLock({ $0.count }) < 1000 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        worker.cancel()
        _ = await worker.result
        await connection.close()
        let sorted = samples.withLock { $0 }.sorted()
        guard sorted.count == 1000 else { throw BenchError("\(sorted.count) of 1000 urgent tasks started") }
        return sorted[sorted.count * 99 / 100]
    }
}
