/// What a schedule's runner does next, as a pure function of the schedule's timing, the last tick handled, the time
/// and the lateness bound (all Unix ms). `TickPlanTests` covers every case.
enum TickPlan: Equatable {
    /// The next tick lies ahead: wait for it.
    case wait(until: Int64)
    /// The next tick is due and at most the lateness bound late: enqueue its task.
    case fire(tick: Int64)
    /// `count` ticks up to `latest` are later than the bound: missed, handled by ``TaskSchedule/MissedTicks``.
    case missed(latest: Int64, count: Int)
    /// The timing has no tick after the last one.
    case finished

    /// The most missed ticks counted in one plan; more are handled in further plans.
    static let countLimit = 100_000

    /// The plan for a schedule whose last handled tick is `lastTick`, at `now`.
    static func next(timing: ScheduleTiming, lastTick: Int64, now: Int64, latenessBound: Int64) -> TickPlan {
        guard let first = timing.nextTick(after: lastTick) else { return .finished }
        if first > now { return .wait(until: first) }
        if now - first <= latenessBound { return .fire(tick: first) }
        var latest = first
        var count = 1
        while count < countLimit, let next = timing.nextTick(after: latest), now - next > latenessBound {
            latest = next
            count += 1
        }
        return .missed(latest: latest, count: count)
    }
}
