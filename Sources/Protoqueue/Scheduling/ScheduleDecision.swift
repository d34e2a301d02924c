/// What the scheduled-task processor does with a delivery of the scheduled-task consumer, as a pure function of its
/// `Protoqueue-Not-Before` header and the time: hold it at the server until due (`-NAK` with the time left, which
/// occupies only that consumer's unlimited ack-pending set), move it to its ready subject once due, or dead-letter
/// it when the header is missing or malformed. `ScheduleDecisionTests` covers every case.
enum ScheduleDecision {
    /// The settlement of a scheduled task whose `Protoqueue-Not-Before` is `notBefore`, at `now` (Unix ms).
    static func settlement(notBefore: String?, now: Int64) -> Settlement {
        let header = WireFormat.notBeforeHeader
        guard let notBefore else {
            return .deadLetter(reason: .decode, error: "the scheduled task has no \(header) header", details: [:])
        }
        guard let due = Int64(notBefore), due >= 0, notBefore.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return .deadLetter(
                reason: .decode, error: "\(header) \"\(notBefore)\" is not a time in Unix milliseconds", details: [:])
        }
        let wait = due - now
        return wait > 0 ? .nak(delay: .milliseconds(wait)) : .promote
    }
}
