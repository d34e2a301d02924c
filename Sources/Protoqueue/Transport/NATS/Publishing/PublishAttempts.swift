import CNats

/// One publish and its re-sends: what to do after each answer of the server, for every way of publishing (single
/// enqueues, replays and dead-letter records in ``NATSClient/publish(_:maxAttempts:)``, batches in ``BatchRun``).
/// The message is re-sent unchanged (same `Nats-Msg-Id`, so the server stores it once) after an acknowledgement
/// timeout, unless a permission violation for its subject since `since` explains the timeout.
struct PublishAttempts {
    enum Step {
        case stored(EnqueueReceipt)
        case resend(OwnedMessage)
        case failed(ProtoqueueError)
    }

    /// The task id (`Nats-Msg-Id`) and subject.
    let id: String
    let subject: String
    let maxAttempts: Int
    /// When the publishing began (monotonic ns): violations reported since then may explain a timeout.
    let since: UInt64
    private(set) var attempt = 0

    init(id: String, subject: String, maxAttempts: Int, since: UInt64 = MonotonicClock.nanoseconds()) {
        self.id = id
        self.subject = subject
        self.maxAttempts = max(1, maxAttempts)
        self.since = since
    }

    init(_ prepared: PreparedMessage, maxAttempts: Int) {
        self.init(id: prepared.id, subject: prepared.subject, maxAttempts: maxAttempts)
    }

    /// What failed, for error messages.
    var operation: String { "publish task \(id) to \"\(subject)\"" }

    /// Counts a send of `message`; call before each.
    mutating func sending() { attempt += 1 }

    /// The error of a send nats.c refused outright (the caller still owns the message and frees it).
    func refused(_ status: natsStatus) -> ProtoqueueError {
        NATSErrorMapping.error(status: status, operation: operation, subject: subject)
    }

    /// What follows the server's (or nats.c's) answer to the latest send.
    func next(after event: PublishEvent, events: ConnectionEvents) -> Step {
        switch event {
        case .acknowledged(let stream, let sequence, let duplicate):
            return .stored(EnqueueReceipt(id: id, sequence: sequence, duplicate: duplicate, stream: stream))
        case .permissionDenied(let violation):
            return .failed(NATSErrorMapping.permissionDenied(operation: operation, violation: violation))
        case .failed(let status, let jsCode, let text, let message):
            if status == NATS_TIMEOUT {
                if let violation = events.recentViolation(since: since, explaining: .publish(subject)) {
                    message.destroy()
                    return .failed(NATSErrorMapping.permissionDenied(operation: operation, violation: violation))
                }
                if attempt < maxAttempts { return .resend(message) }
            }
            message.destroy()
            var error = NATSErrorMapping.error(
                status: status, jsCode: jsCode, operation: operation, subject: subject, errorText: text)
            if status == NATS_TIMEOUT { error.message += " after \(attempt) attempts" }
            return .failed(error)
        }
    }
}
