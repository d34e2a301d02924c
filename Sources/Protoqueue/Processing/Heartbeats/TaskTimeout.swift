extension WireFormat {
    /// On a task with its own timeout: how long one attempt's handler may run, in milliseconds.
    public static let timeoutHeader = "Protoqueue-Timeout"
}

/// The timeout rules as pure functions: a task's `Protoqueue-Timeout` wins over the queue's default
/// (``QueueConfiguration/timeout``). `TaskTimeoutTests` covers them.
enum TaskTimeout {
    /// The longest timeout accepted: 365 days.
    static let longest: Duration = .seconds(365 * 24 * 3600)

    /// `timeout` as the `Protoqueue-Timeout` value: milliseconds, rounded up.
    /// - Parameter option: The option that set it, for the error.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidHeader`` when it is not positive or longer than
    ///   ``longest``.
    static func milliseconds(_ timeout: Duration, option: String = "timeout") throws(ProtoqueueError) -> Int64 {
        try check(timeout, option: option, code: .invalidHeader)
        return timeout.milliseconds
    }

    /// Refuses a timeout that is not positive or longer than ``longest``, with `code`.
    static func check(_ timeout: Duration, option: String, code: ProtoqueueError.Code) throws(ProtoqueueError) {
        guard timeout > .zero, timeout <= longest else {
            throw ProtoqueueError(code, "\(option) \(timeout) must be positive and at most 365 days")
        }
    }

    /// The value of a `Protoqueue-Timeout` header: `nil` when it is not a number of milliseconds from 1 to
    /// ``longest``.
    static func parse(_ text: String) -> Duration? {
        guard text.utf8.count <= 12, let value = DecimalDigits.value(of: text), value > 0,
            value <= UInt64(longest.milliseconds)
        else { return nil }
        return .milliseconds(Int64(value))
    }

    /// The timeout of one attempt: the task's own, else the queue's default; `nil` for none.
    static func effective(task: Duration?, queueDefault: Duration?) -> Duration? {
        task ?? queueDefault
    }
}
