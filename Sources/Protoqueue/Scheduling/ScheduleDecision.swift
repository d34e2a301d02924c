/// What the scheduled-task processor does with a delivery of the scheduled-task consumer, as a pure function of its
/// `Protoqueue-Not-Before` header and the time. A task not yet due goes back to the server with `-NAK` and a delay
/// that brings it back ``earlyReturn`` before it is due (it waits in that consumer's unlimited ack-pending set); one
/// due within ``holdWindow`` is held by the processor until it is due (the server's redelivery comes up to about
/// 100 ms late, too coarse for a start time); a due one is moved to its ready subject; one without a valid header is
/// dead-lettered. `ScheduleDecisionTests` covers every case.
enum ScheduleDecision {
    /// The next step for one delivery.
    enum Step: Equatable {
        /// Wait this long in the processor, then move the task.
        case hold(Duration)
        /// Settle now.
        case settle(Settlement)
    }

    /// How close to its due time a task is held by the processor instead of the server.
    static let holdWindow: Duration = .milliseconds(250)
    /// How long before its due time the server returns a task the processor sent back.
    static let earlyReturn: Duration = .milliseconds(200)

    /// The step for a scheduled task whose `Protoqueue-Not-Before` is `notBefore`, at `now` (Unix ms).
    static func step(notBefore: String?, now: Int64) -> Step {
        let header = WireFormat.notBeforeHeader
        guard let notBefore else {
            return .settle(
                .deadLetter(reason: .decode, error: "the scheduled task has no \(header) header", details: [:]))
        }
        guard let due = DecimalDigits.value(of: notBefore).flatMap({ Int64(exactly: $0) }) else {
            return .settle(
                .deadLetter(
                    reason: .decode, error: "\(header) \"\(notBefore)\" is not a time in Unix milliseconds",
                    details: [:]))
        }
        let wait = Duration.milliseconds(due - now)
        if wait <= .zero { return .settle(.promote) }
        if wait <= holdWindow { return .hold(wait) }
        return .settle(.nak(delay: wait - earlyReturn))
    }
}
