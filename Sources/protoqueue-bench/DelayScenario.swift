import CNats
import Foundation
import Protoqueue
import Synchronization
import TaskSchemas

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `delay-lateness`: tasks enqueued with start times spread evenly over a window (10,000 over 30 s by default;
/// `PROTOQUEUE_BENCH_DELAY_COUNT`, `PROTOQUEUE_BENCH_DELAY_SECONDS`), each with `EnqueueOptions.notBefore`; the
/// 99th percentile of how late each handler started after its due time. The baseline is the server's own message
/// schedules (`Nats-Schedule: @at`, JetStream API level 2, nats-server 2.12, and later) over the same times, measured
/// with raw nats.c in the same run: arrival of the fired message at a pull consumer − its due time; 1000 where the
/// server has no message schedules.
let delayLatenessScenario = Scenario(
    name: "delay-lateness",
    summary: "ms late (p99) of delayed tasks spread over 30 s vs the server's message schedules (2.12+)"
) {
    let count = Int(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_DELAY_COUNT") ?? "") ?? 10_000
    let seconds = Double(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_DELAY_SECONDS") ?? "") ?? 30
    let side = ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_SIDE")
    let baseline = side == "ours" ? 1000 : try DelayBench.serverSchedules(count: count, seconds: seconds) ?? 1000
    let ours = side == "raw" ? 1 : try DelayBench.library(count: count, seconds: seconds)
    return BenchResult(name: "delay-lateness-p99", ours: ours, baseline: baseline, unit: "ms")
}

enum DelayBench {
    /// The due times: evenly spread over `seconds`, starting `lead` seconds from now.
    static func dueTimes(count: Int, seconds: Double, lead: Double) -> [Date] {
        let start = Date().addingTimeInterval(lead)
        return (0..<count).map { start.addingTimeInterval(seconds * Double($0) / Double(count)) }
    }

    static func p99(_ samples: [Double]) -> Double {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
    }

    static func nowMilliseconds() -> Double { Date().timeIntervalSince1970 * 1000 }

    /// The library: one `enqueueBatch` of delayed tasks, one worker recording handler start − `notBefore`.
    static func library(count: Int, seconds: Double) throws -> Double {
        try runAsync {
            let connection = try await BenchNATS.connect()
            let queue = try await Queue<EmailTask>(
                connection: connection, name: "bench_delay_\(getpid())", logger: BenchNATS.logger)
            let items = dueTimes(count: count, seconds: seconds, lead: 3).map {
                EnqueueItem(SampleEmailTask.value, options: EnqueueOptions(notBefore: $0))
            }
            let failed = try await queue.enqueueBatch(items).filter { (try? $0.get()) == nil }.count
            guard failed == 0 else { throw BenchError("\(failed) delayed tasks were not enqueued") }
            let late = Mutex<[Double]>([])
            let worker = Task {
                try await queue.process(options: ProcessOptions(concurrency: 64)) { _, context in
                    let due = (context.notBefore?.timeIntervalSince1970 ?? .nan) * 1000
                    late.withLock { $0.append(nowMilliseconds() - due) }
                    return .success
                }
            }
            let deadline = ContinuousClock.now + .seconds(seconds + 30)
            while late.withLock({ $0.count }) < count, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            worker.cancel()
            _ = await worker.result
            await connection.close()
            let samples = late.withLock { $0 }
            guard samples.count == count else { throw BenchError("only \(samples.count) of \(count) ran") }
            return p99(samples)
        }
    }

    /// The server's message schedules through raw nats.c, or `nil` when its JetStream API level is below 2.
    static func serverSchedules(count: Int, seconds: Double) throws -> Double? {
        let raw = try RawJetStream(url: try BenchNATS.url())
        guard let level = raw.apiLevel(), level >= 2 else { return nil }
        let name = "bench_sched_\(getpid())"
        try raw.createScheduleStream(name: name, subjects: ["\(name).>"])
        let target = "\(name).fired"
        let subscription = try raw.pullSubscribe(stream: name, consumer: "fired", filter: target, create: true)
        defer { natsSubscription_Destroy(subscription) }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for (index, due) in dueTimes(count: count, seconds: seconds, lead: 4).enumerated() {
            let body = Array(String(Int64(due.timeIntervalSince1970 * 1000)).utf8)
            try raw.publish(
                subject: "\(name).at.\(index)", body: body,
                headers: ["Nats-Schedule": "@at \(formatter.string(from: due))", "Nats-Schedule-Target": target])
        }
        var late: [Double] = []
        let deadline = ContinuousClock.now + .seconds(seconds + 30)
        while late.count < count, ContinuousClock.now < deadline {
            var list = natsMsgList()
            var jerr = jsErrCode(0)
            let status = natsSubscription_Fetch(&list, subscription, 256, 1000, &jerr)
            if status != NATS_OK && status != NATS_TIMEOUT { throw BenchError("fetch fired messages: \(status)") }
            let arrived = nowMilliseconds()
            for index in 0..<Int(list.Count) {
                let message = list.Msgs[index]
                let length = Int(natsMsg_GetDataLength(message))
                let text = natsMsg_GetData(message).map {
                    String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self)
                }
                if let due = text.flatMap(Double.init) { late.append(arrived - due) }
                natsMsg_Ack(message, nil)
            }
            natsMsgList_Destroy(&list)
        }
        guard late.count == count else { throw BenchError("only \(late.count) of \(count) schedules fired") }
        return p99(late)
    }
}
