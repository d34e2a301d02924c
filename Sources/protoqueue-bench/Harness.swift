#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One benchmark scenario: a name and a function that measures it and returns its result lines.
/// Add a scenario by adding a file that defines one and listing it in `Scenarios.all`.
struct Scenario: Sendable {
    var name: String
    var summary: String
    var run: @Sendable () throws -> [BenchResult]

    /// A scenario with one result line.
    init(name: String, summary: String, run: @escaping @Sendable () throws -> BenchResult) {
        self.name = name
        self.summary = summary
        self.run = { [try run()] }
    }

    /// A scenario with several result lines.
    init(name: String, summary: String, results: @escaping @Sendable () throws -> [BenchResult]) {
        self.name = name
        self.summary = summary
        self.run = results
    }
}

/// One `RESULT` line: our cost beside the baseline's, measured in the same run.
struct BenchResult {
    var name: String
    var ours: Double
    var baseline: Double
    var unit: String

    var line: String {
        "RESULT name=\(name) ours=\(format(ours)) baseline=\(format(baseline)) ratio=\(format(ours / baseline)) "
            + "unit=\(unit)"
    }

    func format(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        return String(scaled)
    }
}

/// What a scenario's timings count.
enum BenchClock {
    /// Wall-clock (monotonic) time: what anything that waits (network, other threads) must use.
    case wall
    /// CPU time of the calling thread: leaves out the time the thread sits preempted by other processes, most of
    /// the noise on a loaded machine. Only for work that never waits, such as encoding and decoding.
    case threadCPU
}

/// Timing helpers shared by scenarios.
enum Bench {
    /// The time on `clock` in nanoseconds.
    static func now(_ clock: BenchClock = .wall) -> UInt64 {
        var spec = timespec()
        clock_gettime(clock == .wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Runs `body` `iterations` times per round, for `rounds` rounds after one warm-up round, and returns the
    /// median nanoseconds per iteration.
    static func nanosecondsPerIteration(
        iterations: Int = 200_000,
        rounds: Int = 7,
        clock: BenchClock = .wall,
        _ body: () throws -> Void
    ) rethrows -> Double {
        for _ in 0..<iterations / 4 { try body() }
        var samples: [Double] = []
        for _ in 0..<rounds {
            let start = now(clock)
            for _ in 0..<iterations { try body() }
            samples.append(Double(now(clock) - start) / Double(iterations))
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    /// Alternates short rounds of the two measurements, so machine noise hits both alike. On the wall clock it
    /// returns the fastest round of each (the least disturbed estimate on a shared machine). On the thread CPU
    /// clock it returns the lower decile of each instead: the kernel now and then under-accounts a round's CPU
    /// time (one run measured the encode baseline at a third of its cost), and the fastest round would be that
    /// glitch.
    static func compare(
        iterations: Int = 50_000,
        rounds: Int = 15,
        clock: BenchClock = .wall,
        ours: () throws -> Void,
        baseline: () throws -> Void
    ) rethrows -> (ours: Double, baseline: Double) {
        var samples = (ours: [Double](), baseline: [Double]())
        for _ in 0..<rounds {
            samples.ours.append(try nanosecondsPerIteration(iterations: iterations, rounds: 1, clock: clock, ours))
            samples.baseline.append(
                try nanosecondsPerIteration(iterations: iterations, rounds: 1, clock: clock, baseline))
        }
        func estimate(_ values: [Double]) -> Double {
            clock == .wall ? values.min()! : values.sorted()[values.count / 10]
        }
        return (estimate(samples.ours), estimate(samples.baseline))
    }
}

/// Keeps a value alive and opaque to the optimizer.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
