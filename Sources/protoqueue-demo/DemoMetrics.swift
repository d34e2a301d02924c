import CoreMetrics
import Foundation
import Synchronization

/// A swift-metrics backend that keeps every value in memory, for the demo's closing summary. It is handed to
/// `QueueMetrics(factory:)` directly: nothing is bootstrapped, so a real backend in the same process is untouched.
/// A service would use a real backend instead (Prometheus, OpenTelemetry, statsd; see
/// `Examples/Observability`).
final class DemoMetrics: MetricsFactory, Sendable {
    /// One metric object: a running total (counters, meters) and the recorded values (timers, recorders).
    final class Instrument: CounterHandler, FloatingPointCounterHandler, MeterHandler, RecorderHandler,
        TimerHandler, Sendable
    {
        private let state = Mutex<(total: Double, samples: [Int64])>((0, []))

        var total: Double { state.withLock { $0.total } }
        var samples: [Int64] { state.withLock { $0.samples } }

        func increment(by amount: Int64) { state.withLock { $0.total += Double(amount) } }
        func increment(by amount: Double) { state.withLock { $0.total += amount } }
        func decrement(by amount: Double) { state.withLock { $0.total -= amount } }
        func set(_ value: Int64) { state.withLock { $0.total = Double(value) } }
        func set(_ value: Double) { state.withLock { $0.total = value } }
        func record(_ value: Int64) { state.withLock { $0.samples.append(value) } }
        func record(_ value: Double) { state.withLock { $0.samples.append(Int64(value)) } }
        func recordNanoseconds(_ duration: Int64) { state.withLock { $0.samples.append(duration) } }
        func reset() { state.withLock { $0 = (0, []) } }
    }

    private struct Entry {
        let label: String
        let dimensions: [String: String]
        let instrument: Instrument
    }

    private let entries = Mutex<[Entry]>([])

    private func instrument(_ label: String, _ dimensions: [(String, String)]) -> Instrument {
        let dimensions = Dictionary(dimensions, uniquingKeysWith: { _, last in last })
        return entries.withLock { entries in
            if let known = entries.first(where: { $0.label == label && $0.dimensions == dimensions }) {
                return known.instrument
            }
            let made = Instrument()
            entries.append(Entry(label: label, dimensions: dimensions, instrument: made))
            return made
        }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        instrument(label, dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        instrument(label, dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        instrument(label, dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        instrument(label, dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        instrument(label, dimensions)
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    private func matching(_ label: String, _ filter: [String: String]) -> [Instrument] {
        entries.withLock { entries in
            entries.filter { entry in
                entry.label == label && filter.allSatisfy { entry.dimensions[$0.key] == $0.value }
            }.map(\.instrument)
        }
    }

    /// The sum of the totals of every `label` object whose dimensions include `filter`.
    func total(_ label: String, _ filter: [String: String] = [:]) -> Int {
        Int(matching(label, filter).reduce(0) { $0 + $1.total })
    }

    /// Every value recorded by the `label` objects whose dimensions include `filter`.
    func samples(_ label: String, _ filter: [String: String] = [:]) -> [Int64] {
        matching(label, filter).flatMap(\.samples)
    }

    /// The values of dimension `key` that `label` objects have, sorted.
    func values(of key: String, in label: String) -> [String] {
        Set(entries.withLock { $0.filter { $0.label == label }.compactMap { $0.dimensions[key] } }).sorted()
    }
}

/// Median and largest of nanosecond timings, in milliseconds, e.g. "p50 0.3 ms, max 2.1 ms (19 values)".
func timingSummary(_ nanoseconds: [Int64]) -> String {
    guard !nanoseconds.isEmpty else { return "no values" }
    let sorted = nanoseconds.sorted()
    let median = sorted[(sorted.count - 1) / 2]
    func ms(_ value: Int64) -> String { String(format: "%.1f ms", Double(value) / 1e6) }
    return "p50 \(ms(median)), max \(ms(sorted[sorted.count - 1])) (\(sorted.count) values)"
}
