/// Where a queue's final outcomes and stuck handlers go for its middleware's ``QueueMiddleware/settled(_:)`` and
/// ``QueueMiddleware/handlerStuck(_:)``.
enum SettlementHooks: Sendable {
    /// Every middleware of the queue is one of the package's own (``SettlementRecorder``): these record on the thread
    /// that settled the task, in settlement order, with no hook task to hand the settlement to.
    case inline([SettlementRecording])
    /// The hooks run on the queue's hook task, one settlement at a time.
    case queued(SettlementNotices)

    /// The hooks of `middleware` for the tasks of `queue`; `nil` when none of them has any.
    static func of(_ middleware: MiddlewareChain, queue: String, taskType: String) -> SettlementHooks? {
        guard !middleware.isEmpty else { return nil }
        let known = middleware.list.compactMap { $0 as? any SettlementRecorder }
        guard known.count == middleware.list.count else {
            return .queued(SettlementNotices(middleware: middleware))
        }
        let recordings = known.compactMap { $0.recording(queue: queue, taskType: taskType) }
        return recordings.isEmpty ? nil : .inline(recordings)
    }

    /// The hook task to run, when the hooks are queued.
    var notices: SettlementNotices? {
        guard case .queued(let notices) = self else { return nil }
        return notices
    }

    /// Tells the hooks a delivery's final outcome (from any thread).
    func post(_ settlement: TaskSettlement) {
        switch self {
        case .inline(let recordings): for recording in recordings { recording.settled(settlement) }
        case .queued(let notices): notices.post(settlement)
        }
    }

    /// Tells the hooks a handler ignores its timeout (from any thread).
    func post(_ stuck: StuckHandler) {
        switch self {
        case .inline(let recordings): for recording in recordings { recording.stuck(stuck) }
        case .queued(let notices): notices.post(stuck)
        }
    }
}

/// Middleware of this package whose ``QueueMiddleware/settled(_:)`` and ``QueueMiddleware/handlerStuck(_:)`` only
/// record, without waiting. When every middleware of a queue is one, the worker calls their ``SettlementRecording``
/// where the task was settled (``SettlementHooks/inline(_:)``).
protocol SettlementRecorder: QueueMiddleware {
    /// What the hooks do for the tasks of `queue`, made once per queue; `nil` for middleware without them.
    func recording(queue: String, taskType: String) -> SettlementRecording?
}

/// What a ``SettlementRecorder``'s hooks do for one queue's tasks.
struct SettlementRecording: Sendable {
    /// What ``QueueMiddleware/settled(_:)`` does.
    let settled: @Sendable (TaskSettlement) -> Void
    /// What ``QueueMiddleware/handlerStuck(_:)`` does.
    let stuck: @Sendable (StuckHandler) -> Void
}
