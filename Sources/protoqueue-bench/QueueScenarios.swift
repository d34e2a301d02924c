import Dispatch
import Foundation

// The queue scenarios (branch `queue`: EnqueueBenchmark) as entries of `Scenarios.all` (branch `codegen`), joined
// when the two bench entry points met in one target. Each runs against `NATS_URL` or a private nats-server.
// Environment: `BENCH_SINGLE` (default 5,000), `BENCH_BATCH` (default 100,000), `BENCH_WINDOW` (default 4,096),
// `BENCH_ROUNDS` (default 3, the median is reported).
enum QueueScenarios {
    static func scenario(_ name: String, _ summary: String) -> Scenario {
        Scenario(name: name, summary: summary) { try runBlocking(name) }
    }

    private final class Box: @unchecked Sendable {
        var result: Result<[BenchResult], any Error> = .success([])
    }

    /// Runs one queue scenario to completion from the synchronous bench driver.
    static func runBlocking(_ name: String) throws -> BenchResult {
        let environment = ProcessInfo.processInfo.environment
        let single = environment["BENCH_SINGLE"].flatMap { Int($0) } ?? 5_000
        let batch = environment["BENCH_BATCH"].flatMap { Int($0) } ?? 100_000
        let window = environment["BENCH_WINDOW"].flatMap { Int($0) } ?? 4_096
        let rounds = environment["BENCH_ROUNDS"].flatMap { Int($0) } ?? 3
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                var server: BenchServer?
                let url: String
                if let external = environment["NATS_URL"], !external.isEmpty {
                    url = external
                } else {
                    let started = try BenchServer()
                    server = started
                    url = started.url
                }
                defer { server?.stop() }
                box.result = .success(
                    try await EnqueueBenchmark.run(url: url, singleCount: single, batchCount: batch, window: window, rounds: rounds, only: [name]))
            } catch {
                box.result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        guard let result = try box.result.get().first else {
            throw BenchFailure(description: "scenario \(name) produced no result")
        }
        return result
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
}
