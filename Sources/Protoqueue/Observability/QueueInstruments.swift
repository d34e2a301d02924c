import CoreMetrics
import Synchronization

/// The metric objects of one queue and task type (``QueueMetrics``), made once; the per-outcome ones of
/// settlements are made on first use, as dead-letter reasons are an open set.
final class QueueInstruments: Sendable {
    let consumed: Counter
    let queueWait: Timer
    let inFlight: Meter
    private let durations: [Timer]  // success, retry, failure, discard
    let processError: Timer
    private let outcomes: Mutex<[String: Counter]> = Mutex([:])
    private let dimensions: [(String, String)]
    private let settledName: String
    private let factory: any MetricsFactory

    init(queue: String, taskType: String, names: QueueMetrics.Names, factory: any MetricsFactory) {
        let dimensions = [("queue", queue), ("task_type", taskType)]
        self.dimensions = dimensions
        self.factory = factory
        settledName = names.settled
        consumed = Counter(label: names.consumed, dimensions: dimensions, factory: factory)
        queueWait = Timer(label: names.queueWait, dimensions: dimensions, factory: factory)
        inFlight = Meter(label: names.inFlight, dimensions: dimensions, factory: factory)
        durations = ["success", "retry", "failure", "discard"].map {
            Timer(label: names.processDuration, dimensions: dimensions + [("outcome", $0)], factory: factory)
        }
        processError = Timer(
            label: names.processDuration, dimensions: dimensions + [("outcome", "error")], factory: factory)
    }

    /// The run-time timer for a handler's result.
    func processDuration(for result: TaskResult) -> Timer {
        switch result {
        case .success: durations[0]
        case .retry: durations[1]
        case .failure: durations[2]
        case .discard: durations[3]
        }
    }

    /// The counter of a final outcome.
    func settled(_ outcome: TaskSettlement.Outcome) -> Counter {
        let (name, reason): (String, String) =
            switch outcome {
            case .acknowledged: ("acknowledged", "none")
            case .retried: ("retried", "none")
            case .deadLettered(let reason, _): ("dead_lettered", reason.name)
            case .terminated: ("terminated", "none")
            case .unsettled: ("unsettled", "none")
            }
        return outcomes.withLock { known in
            let key = name + "\u{0}" + reason
            if let existing = known[key] { return existing }
            let made = Counter(
                label: settledName, dimensions: dimensions + [("outcome", name), ("reason", reason)], factory: factory)
            known[key] = made
            return made
        }
    }
}
