extension WireFormat {
    /// Headers a dead-letter record adds to the original task's headers (see `docs/wire-format.md`).
    public enum DeadLetterHeader {
        /// Why: `failed`, `retriesExhausted`, `decode` or `maxDeliveries` (``DeadLetterReason``).
        public static let reason = "Protoqueue-DLQ-Reason"
        /// The error text (handler's failure text, thrown error, decode error), at most 1,024 bytes, CR/LF as spaces.
        public static let error = "Protoqueue-DLQ-Error"
        /// Attempts the task had when it was dead-lettered: those a rescheduled retry carried plus this message's
        /// deliveries (decimal).
        public static let attempts = "Protoqueue-DLQ-Attempts"
        /// The subject the task was published to.
        public static let subject = "Protoqueue-DLQ-Subject"
        /// The work stream that held it.
        public static let stream = "Protoqueue-DLQ-Stream"
        /// Its sequence in that stream (decimal).
        public static let sequence = "Protoqueue-DLQ-Sequence"
        /// The consumer that delivered it.
        public static let consumer = "Protoqueue-DLQ-Consumer"
        /// When it was dead-lettered: Unix time in milliseconds (decimal).
        public static let failedAt = "Protoqueue-DLQ-Failed-At"
        /// Prefix of one header per failure detail: detail `smtp` travels as `Protoqueue-DLQ-Detail-smtp`.
        public static let detailPrefix = "Protoqueue-DLQ-Detail-"
        /// Prefix under which the original `Nats-*` headers are kept (`Nats-Msg-Id` →
        /// `Protoqueue-Original-Nats-Msg-Id`),
        /// since the server would act on them again.
        public static let originalPrefix = "Protoqueue-Original-"
        /// The prefix every failure header shares.
        static let failurePrefix = "Protoqueue-DLQ-"
    }

    /// The task id carried by a replayed task (its `Nats-Msg-Id` is the replay's own id).
    public static let taskIDHeader = "Protoqueue-Task-Id"
    /// On a replayed task: `<dead-letter stream>:<sequence>` of the record it came from.
    public static let replayedFromHeader = "Protoqueue-Replayed-From"

    /// `Nats-Msg-Id` of the dead-letter record of the task at `sequence` of `stream`.
    static func deadLetterMessageID(stream: String, sequence: UInt64) -> String { "dlq:\(stream):\(sequence)" }
    /// `Nats-Msg-Id` of the task replayed from the record at `sequence` of the dead-letter stream `stream`.
    static func replayMessageID(deadLetterStream stream: String, sequence: UInt64) -> String {
        "replay:\(stream):\(sequence)"
    }

    /// A header value made safe: CR, LF and NUL become spaces, cut to `limit` bytes on a character boundary, spaces
    /// and tabs around it removed (NATS clients strip them), and `(empty)` for nothing: nats.c 3.4.1 reads an empty
    /// value as the whole next header line, which would lose that header.
    static func sanitizedHeaderValue(_ value: String, limit: Int = 1024) -> String {
        var out = ""
        var size = 0
        for character in value {
            let piece: String =
                (character == "\r" || character == "\n" || character == "\r\n" || character == "\0")
                ? " " : String(character)
            size += piece.utf8.count
            if size > limit { break }
            out += piece
        }
        let trimmed = out.trimmingSpacesAndTabs()
        return trimmed.isEmpty ? "(empty)" : trimmed
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    func trimmingSpacesAndTabs() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.isSpaceOrTab }),
            let end = scalars.lastIndex(where: { !$0.isSpaceOrTab })
        else { return "" }
        return String(scalars[start...end])
    }
}

extension Unicode.Scalar {
    /// A space or a tab: what NATS clients strip around a header value.
    var isSpaceOrTab: Bool { self == " " || self == "\t" }
}
