import CNats
import Protoqueue
import Synchronization
import TaskSchemas

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `process`: tasks per second through `Queue.process` with a no-op handler, over 100,000 queued tasks, beside a
/// raw nats.c loop (`natsSubscription_Fetch` of the same batch size + `natsMsg_Ack` per message) over the same
/// number of identical tasks, in the same run. Both are timed until the server holds no message.
let processScenario = Scenario(
    name: "process",
    summary: "tasks/s, no-op handler over 100,000 queued tasks vs raw nats.c fetch+ack loop, same batch size"
) {
    let count = Int(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_PROCESS_COUNT") ?? "") ?? 100_000
    let batch = 128
    var ours: [Double] = []
    var baseline: [Double] = []
    // PROTOQUEUE_BENCH_SIDE=ours|raw runs one side only (for profiling); the other is then reported as 1.
    let side = ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_SIDE")
    for round in 0..<2 {
        baseline.append(side == "ours" ? 1 : try ProcessBench.raw(count: count, batch: batch, label: "r\(round)"))
        ours.append(
            side == "raw" ? 1 : try ProcessBench.library(count: count, concurrency: batch, label: "r\(round)").rate)
    }
    return BenchResult(name: "process", ours: ours.max()!, baseline: baseline.max()!, unit: "msgs/s")
}

enum ProcessBench {
    /// A fresh queue filled with `count` tasks.
    static func filledQueue(_ connection: NATSConnection, name: String, count: Int) async throws -> Queue<EmailTask> {
        var configuration = QueueConfiguration()
        configuration.consumer.maxAckPending = 20_000
        let queue = try await Queue<EmailTask>(
            connection: connection, name: name, configuration: configuration, logger: BenchNATS.logger)
        try await BenchNATS.fill(queue, count: count)
        return queue
    }

    /// Provisions and fills a queue for one side of a measurement.
    static func prepare(count: Int, name: String) throws -> Queue<EmailTask> {
        try runAsync {
            let connection = try await BenchNATS.connect()
            // The queue value keeps working with its own connection; a fresh one is opened for processing.
            let queue = try await filledQueue(connection, name: "\(name)_\(getpid())", count: count)
            await connection.close()
            return queue
        }
    }

    /// Runs the library's processor over `count` queued tasks; returns tasks/s and the peak RSS while it ran.
    static func library(
        count: Int, concurrency: Int, label: String, measureMemory: Bool = false,
        middleware: [any QueueMiddleware] = [], events: EventConfiguration = .disabled
    ) throws -> (rate: Double, peakMiB: Double, events: EventCounts) {
        try library(
            prepared: prepare(count: count, name: "bench_ours_\(label)"), count: count, concurrency: concurrency,
            measureMemory: measureMemory, middleware: middleware, events: events)
    }

    static func library(
        prepared: Queue<EmailTask>, count: Int, concurrency: Int, measureMemory: Bool,
        middleware: [any QueueMiddleware] = [], events: EventConfiguration = .disabled
    ) throws -> (rate: Double, peakMiB: Double, events: EventCounts) {
        try runAsync {
            let connection = try await BenchNATS.connect()
            var configuration = QueueConfiguration()
            configuration.consumer.maxAckPending = 20_000
            configuration.events = events
            let queue = try await Queue<EmailTask>(
                connection: connection, name: prepared.name, configuration: configuration, middleware: middleware,
                logger: BenchNATS.logger)
            if measureMemory { ResidentMemory.resetPeak() }
            let seconds = try await timeWorker(count: count, streams: [queue.layout.streamName]) { handled in
                let options = ProcessOptions(
                    concurrency: concurrency, fetchTimeout: .milliseconds(200), prefetch: try benchPrefetch())
                try await queue.process(options: options) {
                    _, _ in
                    handled()
                    return .success
                }
            }
            let peak = ResidentMemory.peakMiB()
            let events = queue.eventCounts
            await connection.close()
            return (Double(count) / seconds, peak, events)
        }
    }

    /// Runs `worker`, whose handler calls `handled` once per task, until `count` tasks were handled and every stream
    /// in `streams` is empty (their acknowledgements arrived); then stops it.
    /// - Returns: The seconds from the start until the streams were empty.
    static func timeWorker(
        count: Int, streams: [String],
        worker run: @escaping @Sendable (_ handled: @escaping @Sendable () -> Void) async throws -> Void
    ) async throws -> Double {
        let raw = try RawJetStream(url: try BenchNATS.url())
        let handled = Atomic<Int>(0)
        let stopped = Atomic<Bool>(false)
        let cpu = PhaseCPU.start()
        let start = Bench.now()
        let worker = Task {
            defer { stopped.store(true, ordering: .relaxed) }
            try await run { handled.add(1, ordering: .relaxed) }
        }
        while handled.load(ordering: .relaxed) < count {
            // A worker that stopped early (an error) would leave this loop waiting forever: report it instead.
            if stopped.load(ordering: .relaxed) {
                try await worker.value
                throw BenchError("the worker stopped after \(handled.load(ordering: .relaxed)) of \(count) tasks")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        for stream in streams {
            while raw.messageCount(stream: stream) != 0 { try await Task.sleep(for: .milliseconds(2)) }
        }
        let seconds = Double(Bench.now() - start) / 1e9
        cpu?.report(name: streams.joined(separator: ","), side: "ours", tasks: count)
        worker.cancel()
        try await worker.value
        return seconds
    }

    /// The raw nats.c loop over a queue provisioned and filled the same way.
    static func raw(count: Int, batch: Int, label: String) throws -> Double {
        try raw(
            prepared: prepare(count: count, name: "bench_raw_\(label)"), count: count, batch: batch,
            measureMemory: false
        ).rate
    }

    static func raw(
        prepared queue: Queue<EmailTask>, count: Int, batch: Int, measureMemory: Bool
    ) throws -> (rate: Double, peakMiB: Double) {
        let raw = try RawJetStream(url: try BenchNATS.url())
        let subscription = try raw.pullSubscribe(
            stream: queue.layout.streamName, consumer: queue.layout.consumerName, filter: queue.layout.consumerFilter)
        defer { natsSubscription_Destroy(subscription) }
        if measureMemory { ResidentMemory.resetPeak() }
        var done = 0
        let cpu = PhaseCPU.start()
        let start = Bench.now()
        while done < count {
            var list = natsMsgList()
            var jerr = jsErrCode(0)
            let status = natsSubscription_Fetch(&list, subscription, Int32(batch), 1000, &jerr)
            if status != NATS_OK && status != NATS_TIMEOUT { throw BenchError("raw fetch: \(status)") }
            for index in 0..<Int(list.Count) {
                natsMsg_Ack(list.Msgs[index], nil)
            }
            done += Int(list.Count)
            natsMsgList_Destroy(&list)
        }
        raw.waitUntilEmpty(stream: queue.layout.streamName)
        let seconds = Double(Bench.now() - start) / 1e9
        cpu?.report(name: queue.layout.streamName, side: "raw", tasks: count)
        return (Double(count) / seconds, ResidentMemory.peakMiB())
    }
}

/// Environment lookup without importing Foundation into every scenario.
enum ProcessInfoEnvironment {
    static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}

/// `PROTOQUEUE_BENCH_PREFETCH`: `automatic` (the default, as in `ProcessOptions`), `none` or a number of tasks.
func benchPrefetch() throws -> Prefetch {
    switch ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_PREFETCH") {
    case nil, "automatic": return .automatic
    case "none": return .none
    case let value?:
        guard let count = Int(value), count >= 0 else {
            throw BenchError("PROTOQUEUE_BENCH_PREFETCH must be automatic, none or a number of tasks, not \(value)")
        }
        return .tasks(count)
    }
}
