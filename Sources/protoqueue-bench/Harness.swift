#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One benchmark scenario: a name and a function that measures it and returns its result line.
/// Add a scenario by adding a file that defines one and listing it in `Scenarios.all`.
struct Scenario: Sendable {
    var name: String
    var summary: String
    var run: @Sendable () throws -> BenchResult
}

/// One `RESULT` line: our cost beside the baseline's, measured in the same run.
struct BenchResult {
    var name: String
    var ours: Double
    var baseline: Double
    var unit: String

    var line: String {
        "RESULT name=\(name) ours=\(format(ours)) baseline=\(format(baseline)) ratio=\(format(ours / baseline)) unit=\(unit)"
    }

    func format(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        return String(scaled)
    }
}

/// Timing helpers shared by scenarios.
enum Bench {
    /// Monotonic time in nanoseconds.
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Runs `body` `iterations` times per round, for `rounds` rounds after one warm-up round, and returns the
    /// median nanoseconds per iteration.
    static func nanosecondsPerIteration(
        iterations: Int = 200_000,
        rounds: Int = 7,
        _ body: () throws -> Void
    ) rethrows -> Double {
        for _ in 0..<iterations / 4 { try body() }
        var samples: [Double] = []
        for _ in 0..<rounds {
            let start = now()
            for _ in 0..<iterations { try body() }
            samples.append(Double(now() - start) / Double(iterations))
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    /// Alternates short rounds of the two measurements, so machine noise hits both alike, and returns the
    /// fastest round of each (the least disturbed estimate on a shared machine).
    static func compare(
        iterations: Int = 50_000,
        rounds: Int = 15,
        ours: () throws -> Void,
        baseline: () throws -> Void
    ) rethrows -> (ours: Double, baseline: Double) {
        var best = (ours: Double.infinity, baseline: Double.infinity)
        for _ in 0..<rounds {
            best.ours = min(best.ours, try nanosecondsPerIteration(iterations: iterations, rounds: 1, ours))
            best.baseline = min(best.baseline, try nanosecondsPerIteration(iterations: iterations, rounds: 1, baseline))
        }
        return best
    }
}

/// Keeps a value alive and opaque to the optimizer.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
