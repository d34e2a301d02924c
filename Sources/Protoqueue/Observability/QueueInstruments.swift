import CoreMetrics

/// The metric objects of one queue and task type (``QueueMetrics``), made once; the dead-letter counters (per
/// reason) and the send-failure counters (per error code) are made on first use, as both are open sets.
final class QueueInstruments: Sendable {
    let sent: Counter
    let sendDuration: Timer
    let sendBatchDuration: Timer
    let settleDuration: Timer
    private let sendFailures = MadeOnce<ProtoqueueError.Code, Counter>()
    private let sentName: String
    let consumed: Counter
    let queueWait: Timer
    let inFlight: Meter
    private let durations: [Timer]  // success, retry, failure, discard
    let processError: Timer
    private let acknowledged: Counter
    private let retried: Counter
    private let terminated: Counter
    private let unsettled: Counter
    private let deadLettered = MadeOnce<String, Counter>()
    let lateSettlements: Counter
    let stuckHandlers: Counter
    private let dimensions: [(String, String)]
    private let settledName: String
    private let factory: any MetricsFactory

    init(queue: String, taskType: String, names: QueueMetrics.Names, factory: any MetricsFactory) {
        let dimensions = [("queue", queue), ("task_type", taskType)]
        self.dimensions = dimensions
        self.factory = factory
        settledName = names.settled
        sentName = names.sent
        sent = Counter(label: names.sent, dimensions: dimensions, factory: factory)
        func operation(_ name: String) -> Timer {
            Timer(
                label: names.operationDuration, dimensions: dimensions + [("messaging.operation.name", name)],
                factory: factory)
        }
        sendDuration = operation("send")
        sendBatchDuration = operation("send_batch")
        settleDuration = operation("settle")
        consumed = Counter(label: names.consumed, dimensions: dimensions, factory: factory)
        queueWait = Timer(label: names.queueWait, dimensions: dimensions, factory: factory)
        inFlight = Meter(label: names.inFlight, dimensions: dimensions, factory: factory)
        durations = ["success", "retry", "failure", "discard"].map {
            Timer(label: names.processDuration, dimensions: dimensions + [("outcome", $0)], factory: factory)
        }
        processError = Timer(
            label: names.processDuration, dimensions: dimensions + [("outcome", "error")], factory: factory)
        func settled(_ outcome: String) -> Counter {
            Counter(
                label: names.settled, dimensions: dimensions + [("outcome", outcome), ("reason", "none")],
                factory: factory)
        }
        acknowledged = settled("acknowledged")
        retried = settled("retried")
        terminated = settled("terminated")
        unsettled = settled("unsettled")
        lateSettlements = Counter(label: names.lateSettlements, dimensions: dimensions, factory: factory)
        stuckHandlers = Counter(label: names.stuckHandlers, dimensions: dimensions, factory: factory)
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

    /// The counter of tasks not sent for an error code, made on first use.
    func sendFailed(_ code: ProtoqueueError.Code) -> Counter {
        sendFailures.value(for: code) { code in
            Counter(label: sentName, dimensions: dimensions + [("error.type", code.name)], factory: factory)
        }
    }

    /// Counts a settled delivery and its final outcome, and times the settlement.
    func record(_ settlement: TaskSettlement) {
        consumed.increment()
        settled(settlement.outcome).increment()
        settleDuration.recordNanoseconds(settlement.settleDuration.nanoseconds)
        if settlement.late { lateSettlements.increment() }
    }

    /// The counter of a final outcome.
    func settled(_ outcome: TaskSettlement.Outcome) -> Counter {
        switch outcome {
        case .acknowledged: acknowledged
        case .retried: retried
        case .terminated: terminated
        case .unsettled: unsettled
        case .deadLettered(let reason, _):
            deadLettered.value(for: reason.name) { reason in
                Counter(
                    label: settledName, dimensions: dimensions + [("outcome", "dead_lettered"), ("reason", reason)],
                    factory: factory)
            }
        }
    }
}
