/// Where a queue's final outcomes and stuck handlers go for its middleware's ``QueueMiddleware/settled(_:)`` and
/// ``QueueMiddleware/handlerStuck(_:)``.
enum SettlementHooks: Sendable {
    /// Every middleware of the queue is one of the package's own (``SettlementRecorder``): these record on the thread
    /// that settled the task, in settlement order, with no hook task to hand the settlement to.
    case inline([any SettlementRecorder])
    /// The hooks run on the queue's hook task, one settlement at a time.
    case queued(SettlementNotices)

    /// The hooks of `middleware`; `nil` when none of them has any.
    static func of(_ middleware: MiddlewareChain) -> SettlementHooks? {
        guard !middleware.isEmpty else { return nil }
        let known = middleware.list.compactMap { $0 as? any SettlementRecorder }
        guard known.count == middleware.list.count else {
            return .queued(SettlementNotices(middleware: middleware))
        }
        let recorders = known.filter(\.recordsSettlements)
        return recorders.isEmpty ? nil : .inline(recorders)
    }

    /// The hook task to run, when the hooks are queued.
    var notices: SettlementNotices? {
        guard case .queued(let notices) = self else { return nil }
        return notices
    }

    /// Tells the hooks a delivery's final outcome (from any thread).
    func post(_ settlement: TaskSettlement) {
        switch self {
        case .inline(let recorders): for recorder in recorders { recorder.record(settlement) }
        case .queued(let notices): notices.post(settlement)
        }
    }

    /// Tells the hooks a handler ignores its timeout (from any thread).
    func post(_ stuck: StuckHandler) {
        switch self {
        case .inline(let recorders): for recorder in recorders { recorder.record(stuck) }
        case .queued(let notices): notices.post(stuck)
        }
    }
}

/// Middleware of this package whose ``QueueMiddleware/settled(_:)`` and ``QueueMiddleware/handlerStuck(_:)`` only
/// record, without waiting. When every middleware of a queue is one, the worker calls ``record(_:)-(TaskSettlement)``
/// and ``record(_:)-(StuckHandler)`` where the task was settled (``SettlementHooks/inline(_:)``).
protocol SettlementRecorder: QueueMiddleware {
    /// Whether the hooks record anything; `false` for middleware without them.
    var recordsSettlements: Bool { get }
    /// What ``QueueMiddleware/settled(_:)`` does.
    func record(_ settlement: TaskSettlement)
    /// What ``QueueMiddleware/handlerStuck(_:)`` does.
    func record(_ stuck: StuckHandler)
}
