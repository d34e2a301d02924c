import CNats
import Foundation
import Logging
import Protoqueue
import TaskSchemas

/// `enqueue`: one task at a time (`Queue.enqueue`) vs raw nats.c `js_Publish`, same EmailTask payload.
let enqueueScenario = Scenario(
    name: "enqueue", summary: "msgs/s, one enqueue at a time vs raw js_Publish (private nats-server unless NATS_URL)"
) {
    try EnqueueBenchmark.scenario("enqueue")
}
/// `enqueue-batch`: 100,000 tasks (`Queue.enqueueBatch`, window 4,096) vs raw `js_PublishAsync` with the same window.
let enqueueBatchScenario = Scenario(
    name: "enqueue-batch", summary: "msgs/s, enqueueBatch of 100,000 vs raw js_PublishAsync, window 4,096"
) {
    try EnqueueBenchmark.scenario("enqueue-batch")
}
/// `enqueue-batch-headers`: as `enqueue-batch`, but the raw baseline sends our exact wire bytes (all headers).
let enqueueBatchHeadersScenario = Scenario(
    name: "enqueue-batch-headers", summary: "msgs/s, enqueueBatch vs raw js_PublishMsgAsync carrying the same headers"
) {
    try EnqueueBenchmark.scenario("enqueue-batch-headers")
}
/// `enqueue-sendasap`: the SendAsap decision, one-at-a-time enqueue with it on (ours) and off (baseline).
let enqueueSendAsapScenario = Scenario(
    name: "enqueue-sendasap", summary: "msgs/s, enqueue one at a time with SendAsap on vs off"
) {
    try EnqueueBenchmark.scenario("enqueue-sendasap")
}

/// Scenarios `enqueue` (one task at a time, beside raw nats.c `js_Publish`) and `enqueue-batch` (100,000 tasks,
/// beside raw nats.c `js_PublishAsync` with the same window), plus `enqueue-sendasap` (the SendAsap measurement:
/// ours = SendAsap on, baseline = off). Same payload, same server, same run; raw publishes carry a `Nats-Msg-Id`
/// like ours. Each raw side uses the connection setting its library counterpart uses: send-asap for one at a time
/// (the library's default connection), nats.c's default (send-asap off, the flusher writes in runs) for batches,
/// which the library publishes on its ``BatchedConnection``.
enum EnqueueBenchmark {
    static let payload = SampleEmailTask.value

    /// Sizes from the environment: `BENCH_SINGLE` (5,000), `BENCH_BATCH` (100,000), `BENCH_WINDOW` (4,096),
    /// `BENCH_ROUNDS` (3; the median is reported).
    static func scenario(_ name: String) throws -> BenchResult {
        let environment = ProcessInfo.processInfo.environment
        let single = environment["BENCH_SINGLE"].flatMap { Int($0) } ?? 5_000
        let batch = environment["BENCH_BATCH"].flatMap { Int($0) } ?? 100_000
        let window = environment["BENCH_WINDOW"].flatMap { Int($0) } ?? 4_096
        let rounds = environment["BENCH_ROUNDS"].flatMap { Int($0) } ?? 3
        let url = try BenchNATS.url()
        return try runAsync {
            try await run(
                url: url, singleCount: single, batchCount: batch, window: window, rounds: rounds, only: [name]
            ).first!
        }
    }

    static func run(
        url: String, singleCount: Int, batchCount: Int, window: Int, rounds: Int, only: Set<String> = []
    ) async throws -> [BenchResult] {
        func wanted(_ name: String) -> Bool { only.isEmpty || only.contains(name) }
        var logger = Logger(label: "protoqueue.bench")
        logger.logLevel = .warning
        let body = try payload.serializedBytes()
        var results: [BenchResult] = []

        // enqueue: one at a time.
        var ours: [Double] = []
        var raw: [Double] = []
        if wanted("enqueue") {
            _ = try await oursSingle(
                url: url, count: min(singleCount, 500), sendAsap: true, name: "bench_single_warm", logger: logger)
            _ = try rawSingle(url: url, count: min(singleCount, 500), body: body, stream: "bench_raw_single_warm")
        }
        for round in 0..<rounds where wanted("enqueue") {
            if round % 2 == 1 {
                raw.append(try rawSingle(url: url, count: singleCount, body: body, stream: "bench_raw_single_\(round)"))
            }
            ours.append(
                try await oursSingle(
                    url: url, count: singleCount, sendAsap: true, name: "bench_single_\(round)", logger: logger))
            if round % 2 == 0 {
                raw.append(try rawSingle(url: url, count: singleCount, body: body, stream: "bench_raw_single_\(round)"))
            }
        }
        if wanted("enqueue") {
            results.append(BenchResult(name: "enqueue", ours: median(ours), baseline: median(raw), unit: "msgs/s"))
        }

        // enqueue-batch: pipelined.
        ours = []
        raw = []
        if wanted("enqueue-batch") || wanted("enqueue-batch-headers") {
            // Warm-up (untimed): the first batches on a fresh server run slower whichever side goes first.
            _ = try await oursBatch(
                url: url, count: min(batchCount, 20_000), window: window, name: "bench_warm_ours", logger: logger)
            _ = try rawBatch(
                url: url, count: min(batchCount, 20_000), window: window, body: body, stream: "bench_warm_raw")
        }
        // PROTOQUEUE_BENCH_SIDE=ours|raw runs one side only (for profiling); the other is then reported as 1.
        let side = ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_SIDE")
        for round in 0..<rounds where wanted("enqueue-batch") {
            // Alternate which side runs first in a round.
            func rawRound() throws -> Double {
                side == "ours"
                    ? 1
                    : try rawBatch(
                        url: url, count: batchCount, window: window, body: body, stream: "bench_raw_batch_\(round)")
            }
            if round % 2 == 1 { raw.append(try rawRound()) }
            ours.append(
                side == "raw"
                    ? 1
                    : try await oursBatch(
                        url: url, count: batchCount, window: window, name: "bench_batch_\(round)", logger: logger))
            if round % 2 == 0 { raw.append(try rawRound()) }
        }
        if wanted("enqueue-batch") {
            results.append(
                BenchResult(name: "enqueue-batch", ours: median(ours), baseline: median(raw), unit: "msgs/s"))
        }

        // enqueue-batch-headers: the raw baseline sends exactly our wire bytes (all headers), isolating library
        // overhead.
        ours = []
        raw = []
        for round in 0..<rounds where wanted("enqueue-batch-headers") {
            func rawRound() throws -> Double {
                side == "ours"
                    ? 1
                    : try rawBatch(
                        url: url, count: batchCount, window: window, body: body, stream: "bench_raw_hbatch_\(round)",
                        sameHeaders: true)
            }
            if round % 2 == 1 { raw.append(try rawRound()) }
            ours.append(
                side == "raw"
                    ? 1
                    : try await oursBatch(
                        url: url, count: batchCount, window: window, name: "bench_hbatch_\(round)", logger: logger))
            if round % 2 == 0 { raw.append(try rawRound()) }
        }
        if wanted("enqueue-batch-headers") {
            results.append(
                BenchResult(name: "enqueue-batch-headers", ours: median(ours), baseline: median(raw), unit: "msgs/s"))
        }

        // SendAsap decision: one-at-a-time enqueue with it on (ours) and off (baseline).
        var on: [Double] = []
        var off: [Double] = []
        for round in 0..<rounds where wanted("enqueue-sendasap") {
            on.append(
                try await oursSingle(
                    url: url, count: singleCount, sendAsap: true, name: "bench_asap_on_\(round)", logger: logger))
            off.append(
                try await oursSingle(
                    url: url, count: singleCount, sendAsap: false, name: "bench_asap_off_\(round)", logger: logger))
        }
        if wanted("enqueue-sendasap") {
            results.append(
                BenchResult(name: "enqueue-sendasap", ours: median(on), baseline: median(off), unit: "msgs/s"))
        }
        return results
    }

    static func oursSingle(url: String, count: Int, sendAsap: Bool, name: String, logger: Logger) async throws -> Double
    {
        let connection = try await NATSConnection.connect(.init(servers: [url], sendAsap: sendAsap), logger: logger)
        let queue = try await Queue<EmailTask>(connection: connection, name: name, logger: logger)
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<count { _ = try await queue.enqueue(payload) }
        let elapsed = clock.now - started
        await connection.close()
        return Double(count) / seconds(elapsed)
    }

    static func oursBatch(url: String, count: Int, window: Int, name: String, logger: Logger) async throws -> Double {
        let connection = try await NATSConnection.connect(.init(servers: [url]), logger: logger)
        let queue = try await Queue<EmailTask>(connection: connection, name: name, logger: logger)
        let tasks = Array(repeating: payload, count: count)
        let clock = ContinuousClock()
        let started = clock.now
        let results = try await queue.enqueueBatch(tasks, options: .init(window: window))
        let elapsed = clock.now - started
        let failures = results.filter { if case .failure = $0 { true } else { false } }.count
        await connection.close()
        if failures > 0 { throw ProtoqueueError(.publishRejected, "\(failures) of \(count) batch items failed") }
        return Double(count) / seconds(elapsed)
    }

    /// Raw nats.c: a stream like ours (work queue, file), then js_Publish one at a time with a Msg-Id.
    static func rawSingle(url: String, count: Int, body: [UInt8], stream: String) throws -> Double {
        let (connection, js) = try rawConnect(url: url, stream: stream, sendAsap: true)
        defer { jsCtx_Destroy(js); natsConnection_Destroy(connection) }
        let subject = "raw.\(stream).ready"
        let started = DispatchTime.now().uptimeNanoseconds
        for index in 0..<count {
            var options = jsPubOptions()
            jsPubOptions_Init(&options)
            var ack: UnsafeMutablePointer<jsPubAck>?
            var jerr = jsErrCode(0)
            let id = "raw-\(index)"
            let status = id.withCString { idPointer in
                options.MsgId = idPointer
                return body.withUnsafeBytes {
                    js_Publish(&ack, js, subject, $0.baseAddress, Int32($0.count), &options, &jerr)
                }
            }
            if let ack { jsPubAck_Destroy(ack) }
            guard status == NATS_OK else {
                throw ProtoqueueError(.natsError, "raw js_Publish failed: \(status.rawValue)")
            }
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - started
        return Double(count) / (Double(elapsed) / 1e9)
    }

    /// Raw nats.c: js_PublishAsync with MaxPending = window, MaxWait and a Msg-Id per message, then Complete, on a
    /// connection with nats.c's default flusher (send-asap off).
    static func rawBatch(
        url: String, count: Int, window: Int, body: [UInt8], stream: String, sameHeaders: Bool = false
    ) throws -> Double {
        let (connection, baseJS) = try rawConnect(url: url, stream: stream, sendAsap: false)
        jsCtx_Destroy(baseJS)
        defer { natsConnection_Destroy(connection) }
        var jsOpts = jsOptions()
        jsOptions_Init(&jsOpts)
        jsOpts.PublishAsync.MaxPending = Int64(window)
        // Wait as long as needed for room in the window (the 200 ms default fails publishes on a loaded machine).
        jsOpts.PublishAsync.StallWait = 60_000
        var jsPointer: OpaquePointer?
        guard natsConnection_JetStream(&jsPointer, connection, &jsOpts) == NATS_OK, let js = jsPointer else {
            throw ProtoqueueError(.natsError, "raw JetStream context failed")
        }
        defer { jsCtx_Destroy(js) }
        let subject = "raw.\(stream).ready"
        let started = DispatchTime.now().uptimeNanoseconds
        for index in 0..<count {
            var options = jsPubOptions()
            jsPubOptions_Init(&options)
            options.MaxWait = 5000
            let id = "raw-\(index)"
            let status: natsStatus
            if sameHeaders {
                // The same bytes on the wire as ours: the wire-format headers (docs/wire-format.md) plus the body.
                var message: OpaquePointer?
                _ = body.withUnsafeBytes {
                    natsMsg_Create(
                        &message, subject, nil, $0.baseAddress?.assumingMemoryBound(to: CChar.self), Int32($0.count))
                }
                natsMsgHeader_Set(message, "Nats-Msg-Id", UUID().uuidString.lowercased())
                natsMsgHeader_Set(message, "Protoqueue-Type", EmailTask.protoMessageName)
                natsMsgHeader_Set(message, "Protoqueue-Enqueued-At", String(Int64(Date().timeIntervalSince1970 * 1000)))
                natsMsgHeader_Set(message, "Protoqueue-Version", "1")
                natsMsgHeader_Set(message, "Content-Type", "application/x-protobuf")
                status = js_PublishMsgAsync(js, &message, &options)
                natsMsg_Destroy(message)
            } else {
                status = id.withCString { idPointer in
                    options.MsgId = idPointer
                    return body.withUnsafeBytes {
                        js_PublishAsync(js, subject, $0.baseAddress, Int32($0.count), &options)
                    }
                }
            }
            guard status == NATS_OK else {
                throw ProtoqueueError(.natsError, "raw js_PublishAsync failed: \(status.rawValue)")
            }
        }
        var complete = jsPubOptions()
        jsPubOptions_Init(&complete)
        complete.MaxWait = 60_000
        guard js_PublishAsyncComplete(js, &complete) == NATS_OK else {
            throw ProtoqueueError(.timeout, "raw batch did not complete")
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - started
        return Double(count) / (Double(elapsed) / 1e9)
    }

    private static func rawConnect(url: String, stream: String, sendAsap: Bool) throws -> (OpaquePointer, OpaquePointer)
    {
        var options: OpaquePointer?
        natsOptions_Create(&options)
        natsOptions_SetURL(options, url)
        natsOptions_SetSendAsap(options, sendAsap)
        var connectionPointer: OpaquePointer?
        let status = natsConnection_Connect(&connectionPointer, options)
        natsOptions_Destroy(options)
        guard status == NATS_OK, let connection = connectionPointer else {
            throw ProtoqueueError(.connectionFailed, "raw connect to \(url) failed")
        }
        var jsPointer: OpaquePointer?
        natsConnection_JetStream(&jsPointer, connection, nil)
        guard let js = jsPointer else { throw ProtoqueueError(.natsError, "raw JetStream context failed") }
        var config = jsStreamConfig()
        jsStreamConfig_Init(&config)
        var jerr = jsErrCode(0)
        let subject = "raw.\(stream).>"
        let created: natsStatus = stream.withCString { name in
            subject.withCString { subjectPointer in
                var subjects: [UnsafePointer<CChar>?] = [subjectPointer]
                return subjects.withUnsafeMutableBufferPointer { buffer in
                    config.Name = name
                    config.Subjects = buffer.baseAddress
                    config.SubjectsLen = 1
                    config.Retention = js_WorkQueuePolicy
                    config.Storage = js_FileStorage
                    config.Duplicates = 120_000_000_000
                    return js_AddStream(nil, js, &config, nil, &jerr)
                }
            }
        }
        guard created == NATS_OK else {
            throw ProtoqueueError(.natsError, "raw stream \(stream) failed: \(created.rawValue) \(jerr.rawValue)")
        }
        return (connection, js)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The middle value of `values` (the upper middle for an even count); 0 for none.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}
