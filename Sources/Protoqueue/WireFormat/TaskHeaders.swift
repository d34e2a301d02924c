import Foundation

/// What a delivered task's headers say, read once, and whether a worker may run it.
struct TaskHeaders: Sendable {
    /// `Protoqueue-Task-Id` (a replayed task), else `Nats-Msg-Id`.
    let id: TaskID?
    /// `Protoqueue-Type`.
    let type: String?
    /// `Protoqueue-Enqueued-At`, when present and a valid number of Unix milliseconds.
    let enqueuedAt: Date?
    /// `Protoqueue-Not-Before`, when present and a valid number of Unix milliseconds.
    let notBefore: Date?
    /// `Protoqueue-Start-By` in Unix milliseconds: absent `nil`; refused by ``admission(expectedType:)`` when it is
    /// not a number.
    let startBy: Int64?
    /// ``startBy`` as a date.
    var startByDate: Date? { startBy.map { Date(timeIntervalSince1970: Double($0) / 1000) } }
    /// `Protoqueue-Start-By` as written, for the refusal of a malformed one.
    private let startByText: String?
    /// `Protoqueue-Timeout`: the task's own timeout; `nil` when absent (or malformed, which
    /// ``admission(expectedType:)`` refuses).
    let timeout: Duration?
    /// `Protoqueue-Timeout` as written, for the refusal of a malformed one.
    private let timeoutText: String?
    /// The `Protoqueue-Meta-*` headers, prefix removed.
    let metadata: [String: String]
    /// `Protoqueue-Version`.
    let version: String?
    /// `Protoqueue-Prior-Attempts` (a rescheduled retry): 0 when absent, `nil` when it is not a count.
    let priorAttempts: Int?
    /// `Protoqueue-Unique-Scope` of a unique task, when it reads as one.
    let uniqueScope: Uniqueness.Scope?
    /// `Protoqueue-Unique-Lock`: the sequence of the lock that took the unique task's key.
    let uniqueLock: UInt64?
    /// `Protoqueue-Prior-Attempts` as written, for the refusal of a malformed one.
    private let priorAttemptsText: String?

    /// The headers read here, by name.
    private enum Field {
        case taskID, messageID, type, enqueuedAt, notBefore, startBy, timeout, version, priorAttempts, uniqueScope
        case uniqueLock

        private static let names: [(name: String, bytes: Int, field: Field)] =
            ([
                (WireFormat.taskIDHeader, .taskID), (WireFormat.Header.messageID, .messageID),
                (WireFormat.Header.messageType, .type), (WireFormat.Header.enqueuedAt, .enqueuedAt),
                (WireFormat.notBeforeHeader, .notBefore), (WireFormat.startByHeader, .startBy),
                (WireFormat.timeoutHeader, .timeout), (WireFormat.Header.version, .version),
                (WireFormat.priorAttemptsHeader, .priorAttempts), (WireFormat.uniqueScopeHeader, .uniqueScope),
                (WireFormat.uniqueLockHeader, .uniqueLock),
            ] as [(String, Field)]).map { ($0.0, $0.0.utf8.count, $0.1) }

        /// The field named `name`: lengths compared first, which tells most names apart without reading them.
        static func named(_ name: String) -> Field? {
            let bytes = name.utf8.count
            for entry in names where entry.bytes == bytes && entry.name == name { return entry.field }
            return nil
        }
    }

    /// Reads a stored message's first header values.
    init(_ headers: [String: String]) {
        self.init(ReceivedHeaders(headers))
    }

    /// Reads a delivery's headers: the first value of a repeated name counts.
    init(_ headers: ReceivedHeaders) {
        // One pass over the headers.
        var taskID: String?
        var messageID: String?
        var type: String?
        var enqueuedAt: String?
        var notBefore: String?
        var startByText: String?
        var timeoutText: String?
        var version: String?
        var priorAttemptsText: String?
        var uniqueScope: String?
        var uniqueLock: String?
        var metadata: [String: String] = [:]
        for (name, value) in headers.fields {
            switch Field.named(name) {
            case .taskID: taskID = taskID ?? value
            case .messageID: messageID = messageID ?? value
            case .type: type = type ?? value
            case .enqueuedAt: enqueuedAt = enqueuedAt ?? value
            case .notBefore: notBefore = notBefore ?? value
            case .startBy: startByText = startByText ?? value
            case .timeout: timeoutText = timeoutText ?? value
            case .version: version = version ?? value
            case .priorAttempts: priorAttemptsText = priorAttemptsText ?? value
            case .uniqueScope: uniqueScope = uniqueScope ?? value
            case .uniqueLock: uniqueLock = uniqueLock ?? value
            case nil:
                if name.hasPrefix(WireFormat.metadataPrefix) {
                    let key = String(name.dropFirst(WireFormat.metadataPrefix.count))
                    if metadata[key] == nil { metadata[key] = value }
                }
            }
        }
        func date(_ text: String?) -> Date? {
            text.flatMap(Int64.init).map { Date(timeIntervalSince1970: Double($0) / 1000) }
        }
        id = (taskID ?? messageID).map { TaskID($0) }
        self.type = type
        self.enqueuedAt = date(enqueuedAt)
        self.notBefore = date(notBefore)
        self.startByText = startByText
        startBy = startByText.flatMap { $0.utf8.count <= 18 ? DecimalDigits.value(of: $0) : nil }.map { Int64($0) }
        self.timeoutText = timeoutText
        timeout = timeoutText.flatMap(TaskTimeout.parse)
        self.metadata = metadata
        self.version = version
        self.priorAttemptsText = priorAttemptsText
        self.uniqueScope = uniqueScope.flatMap(Uniqueness.Scope.init(header:))
        self.uniqueLock = uniqueLock.flatMap { UInt64($0) }
        priorAttempts = ScheduledCopy.priorAttempts(priorAttemptsText)
    }

    /// Whether a worker expecting `expectedType` may run the task.
    enum Admission: Equatable {
        /// It may; this is its id.
        case run(TaskID)
        /// It may not; the text becomes the dead-letter record's error (reason `decode`).
        case refuse(String)
    }

    /// Refuses a task when a required header is missing (`Nats-Msg-Id`, `Protoqueue-Type`, `Protoqueue-Version`),
    /// when its version is not one this library reads, when its type is another message's, when
    /// `Protoqueue-Prior-Attempts` is not a count, when `Protoqueue-Start-By` is not a time, or when
    /// `Protoqueue-Timeout` is not a duration.
    func admission(expectedType: String) -> Admission {
        guard let id else { return .refuse("the task has no \(WireFormat.Header.messageID) header (its id)") }
        guard let type else {
            return .refuse("the task has no \(WireFormat.Header.messageType) header (its message type)")
        }
        guard let version else { return .refuse("the task has no \(WireFormat.Header.version) header") }
        guard version == WireFormat.version else {
            return .refuse(
                "the task is in wire-format version \(version); this worker reads version \(WireFormat.version)")
        }
        guard type == expectedType else { return .refuse("message type \(type), expected \(expectedType)") }
        guard priorAttempts != nil else {
            return .refuse(
                "\(WireFormat.priorAttemptsHeader) \"\(priorAttemptsText ?? "")\" is not a count of attempts")
        }
        if let startByText, startBy == nil {
            return .refuse("\(WireFormat.startByHeader) \"\(startByText)\" is not a time in Unix milliseconds")
        }
        if let timeoutText, timeout == nil {
            return .refuse(
                "\(WireFormat.timeoutHeader) \"\(timeoutText)\" is not a number of milliseconds from 1 to "
                    + "\(TaskTimeout.longest.milliseconds)")
        }
        return .run(id)
    }
}
