import Protoqueue
import TaskSchemas

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `process-10-queues`: tasks per second through one `QueueWorker` serving 10 queues of 10,000 tasks each (one
/// budget of 128 handlers, no-op handler), beside the same worker budget on one queue of 100,000 tasks (the
/// `process` scenario's library side), alternating. The goal: 10 queues together at least 0.8 of the one-queue rate.
let processTenQueuesScenario = Scenario(
    name: "process-10-queues",
    summary: "tasks/s, one QueueWorker over 10 queues of 10,000 tasks vs one queue of 100,000, budget 128"
) {
    let total = Int(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_PROCESS_COUNT") ?? "") ?? 100_000
    var ours: [Double] = []
    var baseline: [Double] = []
    for round in 0..<2 {
        baseline.append(try ProcessBench.library(count: total, concurrency: 128, label: "one\(round)").rate)
        ours.append(try MultiQueueBench.run(queues: 10, perQueue: total / 10, concurrency: 128, label: "ten\(round)"))
    }
    return BenchResult(name: "process-10-queues", ours: ours.max()!, baseline: baseline.max()!, unit: "msgs/s")
}

enum MultiQueueBench {
    /// Fills `queues` queues with `perQueue` tasks each, then times one worker until every task is handled and
    /// every stream is empty.
    static func run(queues: Int, perQueue: Int, concurrency: Int, label: String) throws -> Double {
        let names = try (0..<queues).map {
            try ProcessBench.prepare(count: perQueue, name: "bench_\(label)_\($0)").name
        }
        return try runAsync {
            let connection = try await BenchNATS.connect()
            var configuration = QueueConfiguration()
            configuration.consumer.maxAckPending = 20_000
            var opened: [Queue<EmailTask>] = []
            for name in names {
                opened.append(
                    try await Queue<EmailTask>(
                        connection: connection, name: name, configuration: configuration, logger: BenchNATS.logger))
            }
            let served = opened
            let seconds = try await ProcessBench.timeWorker(
                count: queues * perQueue, streams: served.map(\.layout.streamName)
            ) { handled in
                var worker = QueueWorker(
                    options: .init(concurrency: concurrency, fetchTimeout: .milliseconds(200)),
                    logger: BenchNATS.logger)
                for queue in served {
                    worker.add(queue) { _, _ in
                        handled()
                        return .success
                    }
                }
                try await worker.run()
            }
            await connection.close()
            return Double(queues * perQueue) / seconds
        }
    }
}
