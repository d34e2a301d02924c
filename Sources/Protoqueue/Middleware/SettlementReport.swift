/// What a delivery's final outcome is told to, once its settlement is on the wire: the queue's lifecycle events and its
/// middleware's `settled` hooks. Carried with the settlement to the transport's thread as a value, where a closure
/// would be allocated on every settlement; what is the same for all the queue's tasks is one reference
/// (``SettlementListeners``), as the report is copied on its way.
struct SettlementReport: Sendable {
    let listeners: SettlementListeners
    let id: TaskID?
    let attempt: Int
    let sequence: UInt64
    /// What the handler threw or failed with, if anything.
    let error: (any Error)?
    /// The handler's run time, when one ran.
    let runTime: Duration?
    /// When the worker handed the settlement on.
    let settleStart: ContinuousClock.Instant

    /// Tells the events and the hooks that the server was told `outcome`; `late` when the settlement missed the
    /// task's ack window. Call on the transport's thread: it returns at once.
    func tell(_ outcome: TaskSettlement.Outcome, late: Bool) {
        listeners.events?.settled(outcome, id: id, sequence: sequence, attempt: attempt, runTime: runTime, error: error)
        listeners.hooks?.post(
            TaskSettlement(
                queue: listeners.queue, taskType: listeners.taskType, id: id, attempt: attempt, sequence: sequence,
                outcome: outcome, error: error, late: late, settleDuration: ContinuousClock.now - settleStart))
    }
}

/// The part of a queue's ``SettlementReport``s that is the same for all its tasks: who is told, and the queue.
final class SettlementListeners: Sendable {
    let events: QueueEvents?
    let hooks: SettlementHooks?
    let queue: String
    let taskType: String

    /// The listeners of a queue; `nil` when it has neither events nor hooks.
    init?(events: QueueEvents?, hooks: SettlementHooks?, queue: String, taskType: String) {
        guard events != nil || hooks != nil else { return nil }
        self.events = events
        self.hooks = hooks
        self.queue = queue
        self.taskType = taskType
    }
}
