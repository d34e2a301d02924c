import Foundation

/// `protoqueue-bench [scenario...]`: runs the queue scenarios (`enqueue`, `enqueue-batch`) against `NATS_URL` or a
/// private nats-server, printing `RESULT` lines. Environment: `BENCH_SINGLE` (default 5,000), `BENCH_BATCH`
/// (default 100,000), `BENCH_WINDOW` (default 4,096), `BENCH_ROUNDS` (default 3, the median is reported).
@main
struct ProtoqueueBench {
    static func main() async throws {
        let environment = ProcessInfo.processInfo.environment
        let single = environment["BENCH_SINGLE"].flatMap { Int($0) } ?? 5_000
        let batch = environment["BENCH_BATCH"].flatMap { Int($0) } ?? 100_000
        let window = environment["BENCH_WINDOW"].flatMap { Int($0) } ?? 4_096
        let rounds = environment["BENCH_ROUNDS"].flatMap { Int($0) } ?? 3
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
        let results = try await EnqueueBenchmark.run(url: url, singleCount: single, batchCount: batch, window: window, rounds: rounds, only: Set(CommandLine.arguments.dropFirst()))
        for result in results { print(result.line) }
    }
}
