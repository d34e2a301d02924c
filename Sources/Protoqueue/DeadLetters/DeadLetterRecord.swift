/// The failure part of a dead-letter record, both ways: the headers a worker writes for a failed task, and what a
/// reader of the dead-letter stream gets back from them (`docs/wire-format.md` §7).
struct DeadLetterRecord: Sendable, Equatable {
    typealias H = WireFormat.DeadLetterHeader

    /// Why the task was dead-lettered.
    var reason: DeadLetterReason
    /// The error text (sanitized when written).
    var error: String
    /// The failure details, by key.
    var details: [String: String]
    /// Deliveries the task had.
    var attempts: UInt64
    /// The subject the task was published to.
    var subject: String
    /// The work stream that held it.
    var stream: String
    /// Its sequence there.
    var sequence: UInt64
    /// The consumer that delivered it.
    var consumer: String
    /// When it was dead-lettered, Unix milliseconds; `nil` when a record does not say.
    var failedAt: Int64?

    /// The headers of the record: the original ones (control `Nats-*` headers moved under
    /// `Protoqueue-Original-`, failure headers of an earlier dead-lettering dropped), then the failure headers.
    func headers(original: [(name: String, value: String)]) -> [(String, String)] {
        var headers: [(String, String)] = []
        for (key, value) in original {
            if key.hasPrefix(H.failurePrefix) { continue }  // a replayed task that failed again gets fresh ones
            headers.append((key.lowercased().hasPrefix("nats-") ? H.originalPrefix + key : key, value))
        }
        headers.append((H.reason, reason.name))
        headers.append((H.error, WireFormat.sanitizedHeaderValue(error)))
        headers.append((H.attempts, String(attempts)))
        headers.append((H.subject, subject))
        headers.append((H.stream, stream))
        headers.append((H.sequence, String(sequence)))
        headers.append((H.consumer, consumer))
        if let failedAt { headers.append((H.failedAt, String(failedAt))) }
        var usedKeys: Set<String> = []
        for key in details.keys.sorted() {
            let cleaned = Self.detailKey(key)
            guard !cleaned.isEmpty else { continue }
            // Two keys that clean alike both stay: the later one (in key order) gets `_2`, `_3`, ...
            var safeKey = cleaned
            var copy = 1
            while usedKeys.contains(safeKey) {
                copy += 1
                safeKey = "\(cleaned)_\(copy)"
            }
            usedKeys.insert(safeKey)
            headers.append((H.detailPrefix + safeKey, WireFormat.sanitizedHeaderValue(details[key]!)))
        }
        return headers
    }

    /// Reads the failure headers of a stored record (first value of each). Missing or malformed fields read as
    /// empty, zero or `nil`, and a missing reason as `unknown`: a record is shown even when a foreign tool wrote it.
    init(headers: [String: String]) {
        var details: [String: String] = [:]
        for (key, value) in headers where key.hasPrefix(H.detailPrefix) {
            details[String(key.dropFirst(H.detailPrefix.count))] = value
        }
        self.init(
            reason: DeadLetterReason(headers[H.reason] ?? "unknown"),
            error: headers[H.error] ?? "",
            details: details,
            attempts: headers[H.attempts].flatMap { UInt64($0) } ?? 0,
            subject: headers[H.subject] ?? "",
            stream: headers[H.stream] ?? "",
            sequence: headers[H.sequence].flatMap { UInt64($0) } ?? 0,
            consumer: headers[H.consumer] ?? "",
            failedAt: headers[H.failedAt].flatMap { Int64($0) }
        )
    }

    init(
        reason: DeadLetterReason, error: String, details: [String: String], attempts: UInt64, subject: String,
        stream: String, sequence: UInt64, consumer: String, failedAt: Int64?
    ) {
        self.reason = reason
        self.error = error
        self.details = details
        self.attempts = attempts
        self.subject = subject
        self.stream = stream
        self.sequence = sequence
        self.consumer = consumer
        self.failedAt = failedAt
    }

    /// The task id a record carries: the replayed task's `Protoqueue-Task-Id`, else the original `Nats-Msg-Id`.
    static func taskID(headers: [String: String]) -> TaskID? {
        (headers[WireFormat.taskIDHeader] ?? headers[H.originalPrefix + WireFormat.Header.messageID]).map { TaskID($0) }
    }

    /// The headers a replay of a record republishes: the producer's own headers, without the failure headers,
    /// the kept `Nats-*` originals, the ids of an earlier replay (the replay adds fresh ones), and the attempts and
    /// due time of a rescheduled retry (a replay starts at attempt 1), and the deadline (an operator who replays a
    /// task wants it run).
    static func replayedHeaders(of stored: [(name: String, value: String)]) -> [(String, String)] {
        stored.compactMap { key, value in
            if key.hasPrefix(H.failurePrefix) || key.hasPrefix(H.originalPrefix) || key == WireFormat.taskIDHeader
                || key == WireFormat.replayedFromHeader || key == WireFormat.priorAttemptsHeader
                || key == WireFormat.notBeforeHeader || key == WireFormat.startByHeader
                || key.lowercased().hasPrefix("nats-")
            {
                return nil
            }
            return (key, value)
        }
    }

    /// A detail key as a header name: letters, digits, `-`, `_` and `.` kept, anything else `_`, at most 128.
    static func detailKey(_ key: String) -> String {
        String(
            key.unicodeScalars.map { scalar -> Character in
                let ok =
                    (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z")
                    || (scalar >= "0" && scalar <= "9")
                    || scalar == "-" || scalar == "_" || scalar == "."
                return ok ? Character(scalar) : "_"
            }.prefix(128)
        )
    }
}
