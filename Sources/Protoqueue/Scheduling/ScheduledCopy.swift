extension WireFormat {
    /// On a task moved by a retry: the attempts it used before this message. A delivery of the message is attempt
    /// `<prior attempts> + <JetStream delivery count>`.
    public static let priorAttemptsHeader = "Protoqueue-Prior-Attempts"
    /// On a scheduled task: Unix time in milliseconds before which it must not run.
    public static let notBeforeHeader = "Protoqueue-Not-Before"

    /// `Nats-Msg-Id` of the retry of the task at `sequence` of `stream`: stored once however often it is sent.
    static func retryMessageID(stream: String, sequence: UInt64) -> String { "retry:\(stream):\(sequence)" }
    /// `Nats-Msg-Id` of the ready copy of the scheduled task at `sequence` of `stream`.
    static func dueMessageID(stream: String, sequence: UInt64) -> String { "due:\(stream):\(sequence)" }
}

/// The messages that move a task through time, as pure functions of the message they copy: a retry held on the
/// scheduled subject until due, and a due task's copy on its ready subject. Both keep the body and the producer's
/// headers, drop the `Nats-*` ones (the server would act on them again) and name their own `Nats-Msg-Id`, derived
/// from the copied message's stream and sequence, so that sending one again stores it once.
enum ScheduledCopy {
    /// What `Protoqueue-Prior-Attempts` says: 0 when absent, `nil` when it is not a decimal count.
    static func priorAttempts(_ value: String?) -> Int? {
        guard let value else { return 0 }
        guard value.utf8.count <= 9, let count = DecimalDigits.value(of: value) else { return nil }
        return Int(count)
    }

    /// The task id a message carries: `Protoqueue-Task-Id` (a replayed or moved task), else its `Nats-Msg-Id`.
    private static func taskID(in headers: [(name: String, value: String)]) -> String? {
        headers.first { $0.name == WireFormat.taskIDHeader }?.value
            ?? headers.first { $0.name == WireFormat.Header.messageID }?.value
    }

    /// The attempts a message's headers carry (0 when absent or malformed).
    static func priorAttempts(in headers: [(name: String, value: String)]) -> Int {
        priorAttempts(headers.first { $0.name == WireFormat.priorAttemptsHeader }?.value) ?? 0
    }

    /// The retry of a task: on `<subject>.scheduled.<route>` (the route of `taskSubject`), due at `notBefore`
    /// (Unix ms), with the task id and the `attempts` used so far carried in headers.
    static func retry(
        of original: [(name: String, value: String)], body: [UInt8], taskSubject: String, layout: QueueLayout,
        stream: String, sequence: UInt64, attempts: Int, notBefore: Int64
    ) -> PreparedMessage {
        let taskID = taskID(in: original)
        let replaced: Set<String> = [
            WireFormat.taskIDHeader, WireFormat.priorAttemptsHeader, WireFormat.notBeforeHeader,
        ]
        var headers = kept(original, without: replaced)
        if let taskID { headers.append((WireFormat.taskIDHeader, taskID)) }
        headers.append((WireFormat.priorAttemptsHeader, String(attempts)))
        headers.append((WireFormat.notBeforeHeader, String(notBefore)))
        let messageID = WireFormat.retryMessageID(stream: stream, sequence: sequence)
        headers.append((WireFormat.Header.messageID, messageID))
        return PreparedMessage(
            subject: layout.scheduledSubject(tier: layout.route(of: taskSubject)), headers: headers, body: body,
            id: TaskID(messageID))
    }

    /// The ready copy of a due scheduled task: on `<subject>.ready.<route>` (the route of `scheduledSubject`), with
    /// the headers it had (`Protoqueue-Not-Before` stays: it says when the task was due) and its task id as
    /// `Protoqueue-Task-Id` (a delayed task's is its `Nats-Msg-Id`).
    static func due(
        of original: [(name: String, value: String)], body: [UInt8], scheduledSubject: String, layout: QueueLayout,
        stream: String, sequence: UInt64
    ) -> PreparedMessage {
        var headers = kept(original, without: [])
        if !original.contains(where: { $0.name == WireFormat.taskIDHeader }), let taskID = taskID(in: original) {
            headers.append((WireFormat.taskIDHeader, taskID))
        }
        let messageID = WireFormat.dueMessageID(stream: stream, sequence: sequence)
        headers.append((WireFormat.Header.messageID, messageID))
        return PreparedMessage(
            subject: layout.readySubject(tier: layout.route(of: scheduledSubject)), headers: headers, body: body,
            id: TaskID(messageID))
    }

    /// The headers of `original` except `Nats-*` (any case) and those named in `replaced`.
    private static func kept(
        _ original: [(name: String, value: String)], without replaced: Set<String>
    )
        -> [(String, String)]
    {
        original.compactMap { name, value in
            name.lowercased().hasPrefix("nats-") || replaced.contains(name) ? nil : (name, value)
        }
    }
}
