/// What happened to one delivery before its settlement was decided.
enum TaskOutcome: Sendable {
    /// The payload did not decode as the queue's type, or `Protoqueue-Type` named another type; the handler
    /// was not called.
    case undecodable(String)
    /// The task's first attempt came after its `Protoqueue-Start-By` deadline; the handler was not called.
    case expired(String)
    /// The handler returned a result.
    case returned(TaskResult)
    /// The handler threw.
    case threw(any Error)
    /// The handler threw after it was cancelled (the worker is stopping): not the task's fault.
    case cancelled
    /// The handler threw after its timeout cancelled it.
    case timedOut(TaskTimedOut)

    /// The handler's error: what it threw or failed with.
    var error: (any Error)? {
        switch self {
        case .threw(let error), .returned(.failure(let error, _)): error
        case .timedOut(let error): error
        default: nil
        }
    }
}

/// What a delivery's outcome turns into: the acknowledgement it gets, or the dead-letter record it becomes.
enum Settlement: Sendable, Equatable {
    /// `+ACK` (or a confirmed ack, per ``ProcessOptions/AckMode``).
    case ack
    /// `-NAK`, with a delay when it is positive. The task keeps its ack-pending slot until redelivered.
    case nak(delay: Duration)
    /// A retry that frees the task's ack-pending slot at once: a copy with the attempts used so far is stored on
    /// the scheduled subject, due after `delay` (``ScheduledCopy``), then `+ACK`.
    case reschedule(delay: Duration)
    /// A scheduled task that is due: its copy is stored on the ready subject, then `+ACK`.
    case promote
    /// A dead-letter record (stored by the server first), then `+TERM`; only `+TERM` when dead letters are off.
    case deadLetter(reason: DeadLetterReason, error: String, details: [String: String])
    /// `+TERM` without a dead-letter record: the handler discarded the task.
    case discard(reason: String)
    /// Nothing on the wire: the delivery waited past its ack window before a handler took it (a process stopped or
    /// starved while it was fetched ahead), so the server delivers it again, maybe already has; running it here could
    /// run it twice.
    case abandon

    /// Whether it is a plain `+ACK`, whose outcome is known before it is on the wire (acknowledged, unless the
    /// connection cannot take it, when neither can it take the task's events).
    var isAcknowledgement: Bool { self == .ack }

    /// The metric and log name of the settlement: `ack`, `nak`, `dlq` or `term`.
    var name: String {
        switch self {
        case .ack: "ack"
        case .nak: "nak"
        case .reschedule: "reschedule"
        case .promote: "promote"
        case .deadLetter: "dlq"
        case .discard: "term"
        case .abandon: "abandon"
        }
    }
}

/// The decision "outcome × attempt × attempts allowed × retry policy → settlement", as pure functions.
///
/// `docs/processing.md` ("What each outcome does") is this table in prose; `SettlementDecisionTests` covers
/// every row of it.
enum SettlementDecision {
    /// The longest retry delay sent as `-NAK` with that delay, which holds the task's ack-pending slot meanwhile;
    /// a longer one reschedules the task when the worker can (``Settlement/reschedule(delay:)``).
    static let longestHeldRetry: Duration = .seconds(1)

    /// A retry after `delay`: rescheduled when `reschedules` and the delay is longer than ``longestHeldRetry``,
    /// else `-NAK` with the delay.
    static func retry(after delay: Duration, reschedules: Bool) -> Settlement {
        reschedules && delay > longestHeldRetry ? .reschedule(delay: delay) : .nak(delay: delay)
    }

    /// Whether `attempt` is a grace delivery: one past the attempts allowed, which only ack timeouts or crashed
    /// workers produce. Such a delivery is dead-lettered (reason `maxDeliveries`) without running the handler.
    static func isGraceDelivery(attempt: Int, maxAttempts: Int?) -> Bool {
        guard let maxAttempts else { return false }
        return attempt > maxAttempts
    }

    /// The settlement of a delivery at `attempt` (from 1) whose handler did not run because it is a grace
    /// delivery.
    static func graceDelivery(attempt: Int, maxAttempts: Int) -> Settlement {
        .deadLetter(
            reason: .maxDeliveries,
            error: "delivered \(attempt) times, more than the \(maxAttempts) attempts allowed, without being settled "
                + "(ack wait expired or worker crashed)",
            details: [:]
        )
    }

    /// The settlement of `outcome` at `attempt` (from 1).
    /// - Parameters:
    ///   - outcome: What the handler (or decoding) did.
    ///   - attempt: The attempt: attempts carried by a rescheduled task plus the delivery count.
    ///   - maxAttempts: The attempts allowed; `nil` for unlimited.
    ///   - reschedules: Whether a long retry may be rescheduled (the worker runs the scheduled-task consumer).
    ///   - retryDelay: The retry policy's delay after a failed attempt (called only for a retry).
    static func settlement(
        for outcome: TaskOutcome,
        attempt: Int,
        maxAttempts: Int?,
        reschedules: Bool,
        retryDelay: (Int) -> Duration
    ) -> Settlement {
        if let maxAttempts, isGraceDelivery(attempt: attempt, maxAttempts: maxAttempts) {
            return graceDelivery(attempt: attempt, maxAttempts: maxAttempts)
        }
        let lastAttempt = maxAttempts.map { attempt >= $0 } ?? false
        switch outcome {
        case .undecodable(let error):
            return .deadLetter(reason: .decode, error: error, details: [:])
        case .expired(let error):
            return .deadLetter(reason: .expired, error: error, details: [:])
        case .returned(.success):
            return .ack
        case .returned(.retry(let after)):
            if lastAttempt, let maxAttempts {
                return .deadLetter(
                    reason: .retriesExhausted,
                    error: "the handler asked for a retry on attempt \(attempt) of \(maxAttempts)",
                    details: [:]
                )
            }
            return retry(after: after ?? retryDelay(attempt), reschedules: reschedules)
        case .returned(.failure(let error, let details)):
            return .deadLetter(reason: .failed, error: errorText(error), details: details)
        case .returned(.discard(let reason)):
            return .discard(reason: reason)
        case .threw(let error):
            if lastAttempt { return .deadLetter(reason: .retriesExhausted, error: errorText(error), details: [:]) }
            return retry(after: retryDelay(attempt), reschedules: reschedules)
        case .cancelled:
            return .nak(delay: .zero)
        case .timedOut(let error):
            if lastAttempt { return .deadLetter(reason: .timeout, error: errorText(error), details: [:]) }
            return retry(after: retryDelay(attempt), reschedules: reschedules)
        }
    }

    /// The text a dead-letter record keeps of a handler's error: its description.
    static func errorText(_ error: any Error) -> String { String(describing: error) }
}
