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

/// `latency-p50` / `latency-p99`: milliseconds from just before `enqueue` to the start of the handler, at a steady
/// 1,000 tasks/s, beside raw nats.c (`js_Publish` → `natsSubscription_Fetch`, same batch size) in the same run.
/// The producer's monotonic time travels in the task (`not_before_unix` field); both sides run in this process.
/// One measurement serves both scenarios.
let latencyP50Scenario = Scenario(
    name: "latency-p50",
    summary: "ms enqueue → handler start at 1,000 tasks/s (median) vs raw nats.c publish → fetch"
) {
    let measured = try LatencyBench.measured()
    return BenchResult(name: "latency-p50", ours: measured.ours.p50, baseline: measured.raw.p50, unit: "ms")
}

let latencyP99Scenario = Scenario(
    name: "latency-p99",
    summary: "ms enqueue → handler start at 1,000 tasks/s (99th percentile) vs raw nats.c publish → fetch"
) {
    let measured = try LatencyBench.measured()
    return BenchResult(name: "latency-p99", ours: measured.ours.p99, baseline: measured.raw.p99, unit: "ms")
}

enum LatencyBench {
    struct Percentiles: Sendable {
        var p50: Double
        var p99: Double
    }

    static let rate = 1000
    static let batch = 16
    private static let cache = Mutex<(ours: Percentiles, raw: Percentiles)?>(nil)

    static func measured() throws -> (ours: Percentiles, raw: Percentiles) {
        if let cached = cache.withLock({ $0 }) { return cached }
        let count = Int(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_LATENCY_COUNT") ?? "") ?? 4000
        let raw = try rawLatency(count: count)
        let ours = try libraryLatency(count: count)
        let result = (ours: ours, raw: raw)
        cache.withLock { $0 = result }
        return result
    }

    static func percentiles(_ samples: [Double]) -> Percentiles {
        let warm = Array(samples.dropFirst(samples.count / 10)).sorted()
        guard !warm.isEmpty else { return Percentiles(p50: .nan, p99: .nan) }
        return Percentiles(p50: warm[warm.count / 2], p99: warm[min(warm.count - 1, warm.count * 99 / 100)])
    }

    static func task(stamp: UInt64) -> EmailTask {
        var task = SampleEmailTask.value
        task.notBeforeUnix = Int64(stamp)
        return task
    }

    static func libraryLatency(count: Int) throws -> Percentiles {
        try runAsync {
            let connection = try await BenchNATS.connect()
            let queue = try await Queue<EmailTask>(
                connection: connection, name: "bench_latency_\(getpid())", logger: BenchNATS.logger)
            let samples = Mutex<[Double]>([])
            let worker = Task {
                try await queue.process(options: .init(concurrency: batch, fetchTimeout: .milliseconds(500))) {
                    task, _ in
                    let now = Bench.now()
                    let sent = UInt64(task.notBeforeUnix ?? 0)
                    samples.withLock { $0.append(Double(now &- sent) / 1e6) }
                    return .success
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            let clock = ContinuousClock()
            var enqueueTimes: [Double] = []
            let start = clock.now
            for index in 0..<count {
                try await Task.sleep(until: start + .microseconds(index * 1_000_000 / rate), clock: clock)
                let before = Bench.now()
                _ = try await queue.enqueue(task(stamp: before))
                enqueueTimes.append(Double(Bench.now() - before) / 1e6)
            }
            if ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_DEBUG") != nil {
                let p = percentiles(enqueueTimes)
                print("debug enqueue call ms p50 \(p.p50) p99 \(p.p99) max \(enqueueTimes.max() ?? 0)")
            }
            while samples.withLock({ $0.count }) < count { try await Task.sleep(for: .milliseconds(5)) }
            worker.cancel()
            try await worker.value
            await connection.close()
            return percentiles(samples.withLock { $0 })
        }
    }

    static func rawLatency(count: Int) throws -> Percentiles {
        let queue = try runAsync { () -> Queue<EmailTask> in
            let connection = try await BenchNATS.connect()
            let queue = try await Queue<EmailTask>(
                connection: connection, name: "bench_latency_raw_\(getpid())", logger: BenchNATS.logger)
            await connection.close()
            return queue
        }
        let consumerSide = try RawJetStream(url: try BenchNATS.url())
        let producerSide = try RawJetStream(url: try BenchNATS.url())
        struct Handle: @unchecked Sendable { let pointer: OpaquePointer }
        let handle = Handle(
            pointer: try consumerSide.pullSubscribe(
                stream: queue.layout.streamName, consumer: queue.layout.consumerName,
                filter: queue.layout.consumerFilter))
        defer { natsSubscription_Destroy(handle.pointer) }
        let samples = Mutex<[Double]>([])
        let consumerDone = DispatchSemaphore(value: 0)
        let consumer = Thread {
            var received = 0
            while received < count {
                var list = natsMsgList()
                var jerr = jsErrCode(0)
                _ = natsSubscription_Fetch(&list, handle.pointer, Int32(batch), 500, &jerr)
                for index in 0..<Int(list.Count) {
                    let now = Bench.now()
                    let message = list.Msgs[index]
                    let length = Int(natsMsg_GetDataLength(message))
                    let bytes = [UInt8](UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: length))
                    let sent = UInt64((try? EmailTask(serializedBytes: bytes))?.notBeforeUnix ?? 0)
                    samples.withLock { $0.append(Double(now &- sent) / 1e6) }
                    natsMsg_Ack(message, nil)
                }
                received += Int(list.Count)
                natsMsgList_Destroy(&list)
            }
            consumerDone.signal()
        }
        consumer.start()
        usleep(200_000)
        let subject = queue.layout.readySubject
        let start = Bench.now()
        for index in 0..<count {
            let due = start + UInt64(index) * 1_000_000_000 / UInt64(rate)
            while true {
                let now = Bench.now()
                if now >= due { break }
                if due - now > 200_000 { usleep(UInt32((due - now - 100_000) / 1000)) }
            }
            let bytes = try task(stamp: Bench.now()).serializedBytes()
            var ack: UnsafeMutablePointer<jsPubAck>?
            var jerr = jsErrCode(0)
            let status = bytes.withUnsafeBytes { buffer in
                js_Publish(&ack, producerSide.js, subject, buffer.baseAddress, Int32(buffer.count), nil, &jerr)
            }
            if let ack { jsPubAck_Destroy(ack) }
            if status != NATS_OK { throw BenchError("raw publish: \(status)") }
        }
        consumerDone.wait()
        return percentiles(samples.withLock { $0 })
    }
}
