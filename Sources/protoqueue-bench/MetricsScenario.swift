import CoreMetrics
import Protoqueue
import Synchronization

/// `process-metrics`: what `QueueMetrics` costs a worker. The `process` run (no-op handler, concurrency 128, 100,000
/// queued tasks) once with `QueueMetrics` recording into ``SummingMetrics`` (every value is added, not dropped) and
/// once without middleware (baseline), alternating, twice; the best of each.
let processMetricsScenario = Scenario(
    name: "process-metrics",
    summary: "tasks/s, process with QueueMetrics into in-memory sums vs without middleware, 100,000 tasks"
) {
    let recorded = SummingMetrics()
    let rates = try ProcessBench.withAndWithout([QueueMetrics(factory: recorded)], label: "metrics")
    // Each handled task is one consumed delivery: a recorder that dropped values would show it here.
    let consumed = recorded.total(of: "messaging.client.consumed.messages")
    guard consumed == Int64(2 * rates.count) else {
        throw BenchError("process-metrics recorded \(consumed) consumed deliveries, not \(2 * rates.count)")
    }
    return BenchResult(name: "process-metrics", ours: rates.ours, baseline: rates.baseline, unit: "msgs/s")
}

/// A metrics backend that keeps, per label, the sum and count of everything recorded, behind one atomic each.
final class SummingMetrics: MetricsFactory, Sendable {
    private let sums: Mutex<[String: Handler]> = Mutex([:])

    final class Handler: CounterHandler, FloatingPointCounterHandler, MeterHandler, RecorderHandler, TimerHandler,
        Sendable
    {
        let sum = Atomic<Int64>(0)
        let count = Atomic<Int64>(0)

        private func add(_ value: Int64) {
            sum.add(value, ordering: .relaxed)
            count.add(1, ordering: .relaxed)
        }
        func increment(by amount: Int64) { add(amount) }
        func increment(by amount: Double) { add(Int64(amount)) }
        func decrement(by amount: Double) { add(-Int64(amount)) }
        func set(_ value: Int64) { add(value) }
        func set(_ value: Double) { add(Int64(value)) }
        func record(_ value: Int64) { add(value) }
        func record(_ value: Double) { add(Int64(value)) }
        func recordNanoseconds(_ duration: Int64) { add(duration) }
        func reset() {}
    }

    private func handler(_ label: String) -> Handler {
        sums.withLock { known in
            if let existing = known[label] { return existing }
            let made = Handler()
            known[label] = made
            return made
        }
    }

    /// The sum of everything recorded under `label`, over all dimensions.
    func total(of label: String) -> Int64 { handler(label).sum.load(ordering: .relaxed) }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { handler(label) }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        handler(label)
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { handler(label) }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        handler(label)
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { handler(label) }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
