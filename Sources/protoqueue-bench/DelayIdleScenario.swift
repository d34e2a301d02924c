import CNats
import Foundation
import Protoqueue
import TaskSchemas

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `delay-idle`: what delayed tasks cost while they wait. One connection runs a worker (default options) on a queue;
/// its process's CPU (percent of one core, over 20 s) and resident memory are measured with no delayed task, then
/// once 100,000 tasks due in an hour were enqueued and the scheduled-task processor has handed each back to the
/// server. `delay-idle-cpu` compares the CPU (100,000 waiting vs none); `delay-idle-rss` the resident MiB after
/// glibc's `malloc_trim(0)` has returned the free heap to the system (what the process still holds);
/// `delay-idle-rss-untrimmed` the resident MiB before that (which keeps what the allocator kept after the burst of
/// deliveries).
/// PROTOQUEUE_BENCH_DELAY_IDLE_COUNT changes the 100,000, PROTOQUEUE_BENCH_IDLE_SECONDS the 20 s.
let delayIdleScenario = Scenario(
    name: "delay-idle",
    summary: "idle CPU % and resident MiB of a worker while 100,000 delayed tasks wait vs none"
) {
    let count = Int(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_DELAY_IDLE_COUNT") ?? "") ?? 100_000
    let seconds = Double(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_IDLE_SECONDS") ?? "") ?? 20
    return try runAsync {
        let connection = try await BenchNATS.connect()
        let name = "bench_delay_idle_\(getpid())"
        let queue = try await Queue<EmailTask>(connection: connection, name: name, logger: BenchNATS.logger)
        let worker = Task { try await queue.process { _, _ in .success } }
        func measure() async throws -> (cpu: Double, untrimmed: Double, rss: Double) {
            try await Task.sleep(for: .seconds(2))
            let cpuBefore = IdleProcess.cpuSeconds()
            let start = Bench.now()
            try await Task.sleep(for: .seconds(seconds))
            let elapsed = Double(Bench.now() - start) / 1e9
            let cpu = (IdleProcess.cpuSeconds() - cpuBefore) / elapsed * 100
            let untrimmed = ResidentMemory.currentMiB()
            Allocator.trim()
            return (cpu, untrimmed, ResidentMemory.currentMiB())
        }
        let none = try await measure()
        let due = Date().addingTimeInterval(3600)
        let items = (0..<count).map { _ in EnqueueItem(SampleEmailTask.value, options: EnqueueOptions(notBefore: due)) }
        let failed = try await queue.enqueueBatch(items).filter { (try? $0.get()) == nil }.count
        guard failed == 0 else { throw BenchError("\(failed) delayed tasks were not enqueued") }
        // Every task delivered once to the scheduled-task processor and returned to the server to wait.
        let raw = try RawJetStream(url: try BenchNATS.url())
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let state = raw.consumerCounts(stream: name, consumer: queue.layout.scheduledConsumerName)
            if state?.pending == 0 && state?.ackPending == count { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let waiting = try await measure()
        let stats = try await queue.stats()
        guard stats.scheduled == UInt64(count) else { throw BenchError("\(stats.scheduled) of \(count) waiting") }
        worker.cancel()
        _ = await worker.result
        await connection.close()
        return [
            BenchResult(name: "delay-idle-cpu", ours: waiting.cpu, baseline: none.cpu, unit: "%cpu"),
            BenchResult(
                name: "delay-idle-rss-untrimmed", ours: waiting.untrimmed, baseline: none.untrimmed, unit: "MiB"),
            BenchResult(name: "delay-idle-rss", ours: waiting.rss, baseline: none.rss, unit: "MiB"),
        ]
    }
}

extension RawJetStream {
    /// The undelivered and unacknowledged counts of a consumer, or `nil` when it cannot be read.
    func consumerCounts(stream: String, consumer: String) -> (pending: UInt64, ackPending: Int)? {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var jerr = jsErrCode(0)
        guard js_GetConsumerInfo(&info, js, stream, consumer, nil, &jerr) == NATS_OK, let info else { return nil }
        defer { jsConsumerInfo_Destroy(info) }
        return (info.pointee.NumPending, Int(info.pointee.NumAckPending))
    }
}

/// glibc's `malloc_trim`, looked up at run time (Swift's Glibc module does not import `malloc.h`).
enum Allocator {
    /// Returns the free heap to the system.
    static func trim() {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        let trim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        _ = trim(0)
    }
}
