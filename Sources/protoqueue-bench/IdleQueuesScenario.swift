import Protoqueue
import TaskSchemas

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `idle-queues`: what idle workers cost. One connection runs a processor (default options) on 1 queue, then on
/// 100 queues; for each it counts the process's threads and measures its CPU time over 20 s of idling.
/// `idle-queues-threads` compares the thread counts (100 queues vs 1), `idle-queues-cpu` the CPU in percent of one
/// core (100 queues vs 1). PROTOQUEUE_BENCH_IDLE_SECONDS changes the 20 s.
let idleQueuesScenario = Scenario(
    name: "idle-queues",
    summary: "threads and idle CPU % of one connection running 100 idle processors vs 1"
) {
    let seconds = Double(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_IDLE_SECONDS") ?? "") ?? 20
    return try runAsync {
        let connection = try await BenchNATS.connect()
        var workers: [Task<Void, any Error>] = []
        func startWorker(_ index: Int) async throws {
            let queue = try await Queue<EmailTask>(
                connection: connection, name: "bench_idle_\(getpid())_\(index)", logger: BenchNATS.logger
            )
            workers.append(Task { try await queue.process { _, _ in .success } })
        }
        func settleAndMeasure() async throws -> (threads: Int, cpu: Double) {
            try await Task.sleep(for: .seconds(2))
            let threads = IdleProcess.threadCount()
            let cpuBefore = IdleProcess.cpuSeconds()
            let start = Bench.now()
            try await Task.sleep(for: .seconds(seconds))
            let elapsed = Double(Bench.now() - start) / 1e9
            return (threads, (IdleProcess.cpuSeconds() - cpuBefore) / elapsed * 100)
        }
        try await startWorker(0)
        let one = try await settleAndMeasure()
        for index in 1..<100 { try await startWorker(index) }
        let hundred = try await settleAndMeasure()
        for worker in workers { worker.cancel() }
        for worker in workers { try await worker.value }
        await connection.close()
        return [
            BenchResult(
                name: "idle-queues-threads", ours: Double(hundred.threads), baseline: Double(one.threads),
                unit: "threads"
            ),
            BenchResult(name: "idle-queues-cpu", ours: hundred.cpu, baseline: one.cpu, unit: "%cpu"),
        ]
    }
}

/// Thread count and CPU time of this process.
enum IdleProcess {
    /// The entries of `/proc/self/task`: one per thread.
    static func threadCount() -> Int {
        guard let directory = opendir("/proc/self/task") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }

    /// User plus system CPU seconds of the whole process.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
