import Foundation
import NATSServerHarness
import NATSTestSupport
import Protoqueue
import Synchronization
import TaskSchemas
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Sizes at the server's limits, a stream whose limit changed behind the queue's back, and servers that stall or
/// vanish in the middle of a call: every outcome a typed error, nothing acknowledged lost.
@Suite(
    "Hostile input and vanishing servers",
    .enabled(if: ReliabilityEnvironment.serverTestsEnabled, "no nats-server (CI=true makes this fail)"))
struct HostileServerTests {
    static func email(size: Int) -> EmailTask {
        var task = EmailTask()
        task.to = String(repeating: "x", count: size)
        return task
    }

    /// The total size (headers + body) the library computed, from its payloadTooLarge message ("is N bytes").
    static func reportedSize(_ error: ProtoqueueError) -> Int? {
        guard let range = error.message.range(of: " is ") else { return nil }
        return Int(error.message[range.upperBound...].prefix { $0.isNumber })
    }

    @Test func payloadExactlyAtTheServerMaximumIsStoredAndOneByteMoreIsRefusedBeforeSending() async throws {
        let limit = 8192
        try await withNATSServer(configuration: "max_payload: \(limit)\n") { server in
            let connection = try await NATSConnection.connect(
                testConfiguration(server.url), logger: reliabilityLogger())
            let queue = try await Queue<EmailTask>(
                connection: connection, name: "boundary", logger: reliabilityLogger())
            #expect(connection.maxPayload == limit)

            // Ids of equal length keep the header size constant across attempts.
            let probe = await expectTypedFailure([.payloadTooLarge], within: 1, "probe") { () throws(ProtoqueueError) in
                try await queue.enqueue(Self.email(size: limit), options: .init(id: "boundary-0"))
            }
            let probeSize = try #require(probe.flatMap(Self.reportedSize), "\(String(describing: probe))")
            // `to` length giving exactly `limit` bytes (same 2-byte length prefix)
            let exact = limit - (probeSize - limit)
            let receipt = try await queue.enqueue(Self.email(size: exact), options: .init(id: "boundary-1"))
            #expect(receipt.sequence == 1, "a task of exactly max_payload bytes must be stored")

            let over = await expectTypedFailure([.payloadTooLarge], within: 1, "max_payload + 1") {
                () throws(ProtoqueueError) in
                try await queue.enqueue(Self.email(size: exact + 1), options: .init(id: "boundary-2"))
            }
            #expect(over.flatMap(Self.reportedSize) == limit + 1, "\(String(describing: over))")
            #expect(over?.message.contains("\(limit)") == true)
            let results = try await queue.enqueueBatch([
                EnqueueItem(Self.email(size: exact + 1), options: .init(id: "boundary-3"))
            ])
            if case .failure(let error) = results.first {
                #expect(error.code == .payloadTooLarge)
            } else {
                Issue.record("batch stored an oversized task")
            }
            #expect(try await queue.stats().lastSequence == 1, "nothing over the limit reached the server")
            await connection.close()
        }
    }

    /// Regression: a batch in which no task passed validation never published, and nats.c 3.4.1's
    /// js_PublishAsyncGetPendingList then dereferenced a NULL pending map when the batch finished (SIGSEGV).
    @Test func batchWhoseEveryTaskIsInvalidReportsEachWithoutCrashing() async throws {
        try await withNATSServer { server in
            let connection = try await NATSConnection.connect(
                testConfiguration(server.url), logger: reliabilityLogger())
            let queue = try await Queue<EmailTask>(connection: connection, name: "allbad", logger: reliabilityLogger())
            let items = [
                EnqueueItem(Self.email(size: connection.maxPayload + 1), options: .init(id: "too-big")),
                EnqueueItem(sampleEmail(), options: .init(id: "has space")),
                EnqueueItem(sampleEmail(), options: .init(id: "ok-id", metadata: ["Nats-Msg-Id": "x"])),
            ]
            let results = try await queue.enqueueBatch(items)
            let codes = results.map { result -> ProtoqueueError.Code? in
                if case .failure(let error) = result { return error.code }
                return nil
            }
            #expect(codes == [.payloadTooLarge, .invalidName, .invalidHeader])
            // The queue and the connection still work afterwards, and close cleanly.
            _ = try await queue.enqueue(sampleEmail())
            #expect(try await queue.stats().messages == 1)
            await connection.close()
        }
    }

    @Test func streamLimitLoweredBehindTheQueuesBackIsATypedRefusalFromTheServer() async throws {
        try await withNATSServer { server in
            let first = try await NATSConnection.connect(testConfiguration(server.url), logger: reliabilityLogger())
            let stale = try await Queue<EmailTask>(connection: first, name: "shrunk", logger: reliabilityLogger())
            _ = try await stale.enqueue(Self.email(size: 2000))

            // Another process deletes the stream (here: via the JetStream API) and provisions it with a 512-byte limit.
            let second = try await NATSConnection.connect(testConfiguration(server.url), logger: reliabilityLogger())
            try RawNATS(url: server.url).deleteStream("shrunk")
            let strict = try await Queue<EmailTask>(
                connection: second, name: "shrunk", configuration: .init(maxMessageSize: 512),
                logger: reliabilityLogger())

            // The first queue still believes the stream is unlimited; the server refuses (JetStream error 10054).
            let error = await expectTypedFailure([.payloadTooLarge], within: 3, "enqueue over the new stream limit") {
                () throws(ProtoqueueError) in
                try await stale.enqueue(Self.email(size: 2000))
            }
            #expect(error?.jetStreamErrorCode == 10054, "\(String(describing: error))")
            #expect(try await strict.stats().messages == 0)
            await first.close()
            await second.close()
        }
    }

    @Test func aStalledServerGivesATimeoutAndTheResendIsStoredOnce() async throws {
        try await withNATSServer { server in
            let connection = try await NATSConnection.connect(
                testConfiguration(server.url, requestTimeout: .seconds(1)), logger: reliabilityLogger())
            let queue = try await Queue<EmailTask>(connection: connection, name: "stalled", logger: reliabilityLogger())
            #expect(try await offCooperativePool { server.pause() }, "nats-server did not stop")
            // A single publish is sent 3 times, waiting the request timeout each.
            await expectTypedFailure([.timeout], within: 6, "enqueue to a stopped server") {
                () throws(ProtoqueueError) in
                try await queue.enqueue(sampleEmail(), options: .init(id: "ambiguous-1"))
            }
            server.resume()
            // The failed publish may or may not have been stored (ambiguous); resending the same id stores it once.
            var receipt: EnqueueReceipt?
            for _ in 0..<20 where receipt == nil {
                receipt = try? await queue.enqueue(sampleEmail(), options: .init(id: "ambiguous-1"))
                if receipt == nil { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(receipt?.sequence == 1)
            #expect(try await queue.stats().messages == 1)
            await connection.close()
        }
    }

    @Test func serverKilledDuringEnqueueBatchLosesNoAcknowledgedTask() async throws {
        try await withNATSServer { server in
            var configuration = testConfiguration(server.url, requestTimeout: .seconds(1))
            configuration.reconnect = .init(maxAttempts: 3, wait: .milliseconds(200))
            let connection = try await NATSConnection.connect(configuration, logger: reliabilityLogger())
            let queue = try await Queue<EmailTask>(connection: connection, name: "vanish", logger: reliabilityLogger())

            let total = 20_000
            let acknowledged = Mutex<Set<String>>([])
            let failures = Mutex<[ProtoqueueError.Code: Int]>([:])
            let (items, continuation) = AsyncStream<EnqueueItem<EmailTask>>.makeStream()
            let producer = Task {
                for index in 0..<total {
                    continuation.yield(EnqueueItem(sampleEmail(index), options: .init(id: "v-\(index)")))
                }
                continuation.finish()
            }
            let killer = Task {
                // Polls with Task.sleep: a blocking wait here would hold one of the few cooperative threads.
                let deadline = ContinuousClock.now + .seconds(30)
                while acknowledged.withLock({ $0.count }) < 2_000 && ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(1))
                }
                _ = try? await offCooperativePool { server.kill9() }
            }
            let started = ContinuousClock.now
            let summary = try await queue.enqueueBatch(from: items, options: .init(window: 256)) { results in
                for await outcome in results {
                    let index = outcome.position
                    let result = outcome.result
                    switch result {
                    case .success: _ = acknowledged.withLock { $0.insert("v-\(index)") }
                    case .failure(let error): failures.withLock { $0[error.code, default: 0] += 1 }
                    }

                }
            }
            _ = await (producer.value, killer.value)
            let seconds = elapsed(since: started)
            let acked = acknowledged.withLock { $0 }
            let failed = failures.withLock { $0 }
            #expect(summary.total == total && summary.succeeded + summary.failed == total, "\(summary)")
            #expect(acked.count >= 2_000 && acked.count < total, "acked \(acked.count)")
            #expect(
                Set(failed.keys).isSubset(of: [.timeout, .connectionFailed, .connectionClosed, .backpressure]),
                "\(failed)")
            #expect(seconds < 60, "enqueueBatch took \(seconds) s after the server vanished")

            // A call on the dead server fails typed, within the request timeout and a margin.
            await expectTypedFailure(
                [.timeout, .connectionFailed, .connectionClosed], within: 4, "stats with the server gone"
            ) { () throws(ProtoqueueError) in
                try await queue.stats()
            }
            await connection.close()

            // Restart on the same store: every acknowledged id is there (re-sending it is a duplicate), nothing else is
            // missing from what the server counts.
            try await server.restart()
            let again = try await NATSConnection.connect(testConfiguration(server.url), logger: reliabilityLogger())
            let reopened = try await Queue<EmailTask>(connection: again, name: "vanish", logger: reliabilityLogger())
            let stored = try await reopened.stats().messages
            #expect(stored >= UInt64(acked.count), "stored \(stored) < acknowledged \(acked.count)")
            let resent = try await reopened.enqueueBatch(
                acked.sorted().map { EnqueueItem(sampleEmail(), options: .init(id: TaskID($0))) })
            let notDuplicates = resent.filter { (try? $0.get().duplicate) != true }.count
            #expect(
                notDuplicates == 0,
                "\(notDuplicates) acknowledged tasks were not in the stream after kill -9 and restart")
            #expect(try await reopened.stats().messages == stored)
            await again.close()
        }
    }
}
