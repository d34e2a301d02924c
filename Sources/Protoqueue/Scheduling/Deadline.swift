import Foundation

extension WireFormat {
    /// On a task with a deadline: Unix time in milliseconds by which its first attempt must start.
    public static let startByHeader = "Protoqueue-Start-By"
}

/// The "must start by" rule, as pure functions: a task whose first attempt is delivered after its
/// `Protoqueue-Start-By` time is dead-lettered with reason `expired` without running the handler. Retries of a task
/// that started in time run whatever the time. `DeadlineTests` covers the table.
enum Deadline {
    /// `date` as the `Protoqueue-Start-By` value: Unix milliseconds, rounded down.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidHeader`` for a time before 1970 or after 9999.
    static func milliseconds(_ date: Date) throws(ProtoqueueError) -> Int64 {
        try EnqueueOptions.headerMilliseconds(
            date, option: "startBy", header: WireFormat.startByHeader, rounding: .down)
    }

    /// Refuses a deadline before the task's earliest start (`due`, Unix ms): such a task could never run.
    static func check(startBy: Int64, due: Int64?) throws(ProtoqueueError) {
        guard let due, startBy < due else { return }
        throw ProtoqueueError(
            .invalidHeader,
            "startBy (\(startBy) ms) is before notBefore (\(due) ms): the task could never start")
    }

    /// Why the delivery at `attempt` must not run, or `nil` when it may: its first attempt comes after `startBy`
    /// (Unix ms; `nil` for no deadline) at `now` (Unix ms).
    static func expiry(startBy: Int64?, attempt: Int, now: Int64) -> String? {
        guard let startBy, attempt == 1, now > startBy else { return nil }
        return "the task had to start by \(startBy) ms (Unix time); its first attempt was delivered \(now - startBy) "
            + "ms later"
    }
}
