import Foundation
import Synchronization
import TaskSchemas
import Testing

@testable import Protoqueue

/// Retries that fall due just as the worker's pull request expires. nats-server before 2.10.14, finding only an
/// expired request when a retry falls due, hands the retry to nobody and moves the consumer's position back one
/// message, which it then delivers again as new: the handler saw attempts `[1, 1, 3]`. Workers renew their last pull
/// request before it expires (``FetchState/renewal``). Without that, 2 of 3 runs of this test on 2.9.10 failed; on
/// servers from 2.10.14 it passes either way.
@Suite(
    "Retries due as a pull request expires",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct RetryAtRequestExpiryTests {
    private static let fetchTimeout: UInt64 = 300_000_000

    /// Enqueues `count` tasks one after another into a queue of its own; each fails its first attempt with a retry
    /// that falls due within 3 ms of the expiry of the request the worker has open (expiries are aligned to
    /// multiples of the fetch timeout). Returns each task's attempts.
    private static func run(_ url: String, count: Int) async throws -> [[Int]] {
        try await withConnection(url) { connection in
            var configuration = QueueConfiguration(consumer: .init(ackWait: .seconds(30), maxDeliveries: 6))
            configuration.retry = .fixed(.milliseconds(100))
            let queue = try await Queue<EmailTask>(
                connection: connection, name: uniqueName("expiry"), configuration: configuration,
                logger: testLogger())
            let attempts = Mutex<[String: [Int]]>([:])
            let done = Atomic<Int>(0)
            let options = ProcessOptions(concurrency: 1, fetchTimeout: .nanoseconds(Int64(fetchTimeout)))
            try await withProcessor(queue, options: options) { _, context in
                attempts.withLock { $0[context.id.rawValue, default: []].append(context.attempt) }
                guard context.attempt == 1 else {
                    done.add(1, ordering: .relaxed)
                    return .success
                }
                let now = MonotonicClock.nanoseconds()
                var expiry = (now / fetchTimeout + 1) * fetchTimeout
                if expiry - now < fetchTimeout / 2 { expiry += fetchTimeout }
                let jitter = Int64.random(in: -3_000_000...3_000_000)
                return .retry(after: .nanoseconds(Int64(expiry - now) + jitter))
            } body: {
                for index in 0..<count {
                    _ = try await queue.enqueue(EmailTask(to: "t\(index)@example.com"), options: .init(id: "t\(index)"))
                    #expect(await eventually { done.load(ordering: .relaxed) > index }, "task \(index) not done")
                }
            }
            return Array(attempts.withLock { $0 }.values)
        }
    }

    @Test func keepTheirAttemptNumbers() async throws {
        let url = try await SharedServer.url()
        let all = try await withThrowingTaskGroup(of: [[Int]].self) { group in
            for _ in 0..<5 { group.addTask { try await Self.run(url, count: 30) } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(all.count == 150)
        let wrong = all.filter { $0 != [1, 2] }
        #expect(wrong.isEmpty, "\(wrong.count) tasks ran with other attempts: \(wrong.prefix(5))")
    }
}
