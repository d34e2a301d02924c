import CNats

/// A nats.c message the library created and owns until it calls ``destroy()``.
struct OwnedMessage: @unchecked Sendable {
    let pointer: OpaquePointer  // natsMsg*

    func destroy() { natsMsg_Destroy(pointer) }
}

/// What the server (or nats.c) answered to one send of a publish.
enum PublishEvent: Sendable {
    /// Stored, or recognised as a duplicate of an id already stored.
    case acknowledged(stream: String, sequence: UInt64, duplicate: Bool)
    /// Refused by the server (`status` `NATS_ERR` with a JetStream code, `NATS_NO_RESPONDERS`), or no answer within
    /// the acknowledgement timeout (`NATS_TIMEOUT`).
    case failed(status: natsStatus, jsCode: Int, text: String?)
    /// The server reported a permission violation for the message's subject.
    case permissionDenied(PermissionViolation)
}

/// One publish and its re-sends: what to do after each answer of the server, for every way of publishing (single
/// enqueues, replays and dead-letter records in ``PublishWindow``, batches in ``BatchRun``). The message is re-sent
/// unchanged (same `Nats-Msg-Id`, so the server stores it once) after an acknowledgement timeout, unless a
/// permission violation for its subject since `since` explains the timeout, and, for up to `noStreamPatience`, after
/// pauses while no stream answers its subject (a stream another client is creating, or one electing a leader). The
/// caller owns the message throughout.
struct PublishAttempts {
    enum Step {
        case stored(EnqueueReceipt)
        case resend
        /// Send again once this many nanoseconds have passed.
        case resendAfter(UInt64)
        case failed(ProtoqueueError)
    }

    /// How long a publish is sent again while no stream answers its subject, by default.
    static let noStreamPatience: Duration = .seconds(2)

    /// The task id (`Nats-Msg-Id`) and subject.
    let id: TaskID
    let subject: String
    let maxAttempts: Int
    /// When the publishing began (monotonic ns): violations reported since then may explain a timeout.
    let since: UInt64
    /// How long (ns) the publish is sent again while no stream answers; 0 fails it at the first such answer.
    let noStreamPatience: UInt64
    private(set) var attempt = 0
    /// The "no responders" answers so far, and when the first came (monotonic ns).
    private(set) var noStreamAnswers = 0
    private var firstNoStreamAnswer: UInt64 = 0

    init(
        id: TaskID, subject: String, maxAttempts: Int, since: UInt64 = MonotonicClock.nanoseconds(),
        noStreamPatience: Duration = Self.noStreamPatience
    ) {
        self.id = id
        self.subject = subject
        self.maxAttempts = max(1, maxAttempts)
        self.since = since
        self.noStreamPatience = UInt64(max(0, noStreamPatience.nanoseconds))
    }

    /// What failed, for error messages.
    var operation: String { "publish task \(id) to \"\(subject)\"" }

    /// Counts a send; call before each.
    mutating func sending() { attempt += 1 }

    /// The error of a send nats.c refused outright.
    func refused(_ status: natsStatus) -> ProtoqueueError {
        NATSErrorMapping.error(status: status, operation: operation, subject: subject)
    }

    /// The error for a publish the closing connection ends: before its first send (`sent` false) or while the
    /// server's acknowledgement was still awaited.
    func closedError(sent: Bool) -> ProtoqueueError {
        guard sent else {
            return ProtoqueueError(.connectionClosed, "\(operation): the connection is closed; the task was not sent")
        }
        return ProtoqueueError(
            .connectionClosed,
            "\(operation): the connection was closed before the server acknowledged the task; it may or may not be "
                + "stored, so enqueue it again with the same id (deduplicated)"
        )
    }

    /// What follows the answer to the latest send, which came at `now` (monotonic ns).
    mutating func next(
        after event: PublishEvent, events: ConnectionEvents, now: UInt64 = MonotonicClock.nanoseconds()
    ) -> Step {
        switch event {
        case .acknowledged(let stream, let sequence, let duplicate):
            return .stored(EnqueueReceipt(id: id, sequence: sequence, duplicate: duplicate, stream: stream))
        case .permissionDenied(let violation):
            return .failed(NATSErrorMapping.permissionDenied(operation: operation, violation: violation))
        case .failed(let status, let jsCode, let text):
            if status == NATS_TIMEOUT {
                if let violation = events.recentViolation(since: since, explaining: .publish(subject)) {
                    return .failed(NATSErrorMapping.permissionDenied(operation: operation, violation: violation))
                }
                if attempt < maxAttempts { return .resend }
            }
            if status == NATS_NO_RESPONDERS {
                if noStreamAnswers == 0 { firstNoStreamAnswer = now }
                noStreamAnswers += 1
                let waited = now &- firstNoStreamAnswer
                if let pause = Self.noStreamPause(answers: noStreamAnswers, waited: waited, patience: noStreamPatience)
                {
                    return .resendAfter(pause)
                }
            }
            var error = NATSErrorMapping.error(
                status: status, jsCode: jsCode, operation: operation, subject: subject, errorText: text)
            if status == NATS_TIMEOUT { error.message += " after \(attempt) attempts" }
            if status == NATS_NO_RESPONDERS && noStreamAnswers > 1 {
                error.message += " in \(noStreamAnswers) sends over \((now &- firstNoStreamAnswer) / 1_000_000) ms"
            }
            return .failed(error)
        }
    }

    /// The pause (ns) before sending again after the `answers`-th "no responders" answer, the first of which came
    /// `waited` ns ago: 25 ms, doubling up to 400 ms, while the next send still falls within `patience`; `nil` to
    /// give up.
    static func noStreamPause(answers: Int, waited: UInt64, patience: UInt64) -> UInt64? {
        let pause = UInt64(25_000_000) << UInt64(min(4, max(0, answers - 1)))
        guard answers > 0, waited + pause <= patience else { return nil }
        return pause
    }

    /// The event an acknowledgement message (on a publish's reply subject) reports; `nil` when it cannot be read.
    static func event(ofAcknowledgement message: OpaquePointer) -> PublishEvent? {
        if natsMsg_IsNoResponders(message) { return .failed(status: NATS_NO_RESPONDERS, jsCode: 0, text: nil) }
        let data = UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: Int(natsMsg_GetDataLength(message)))
        switch PublishAcknowledgement.parse(data) {
        case .stored(let stream, let sequence, let duplicate):
            return .acknowledged(stream: stream, sequence: sequence, duplicate: duplicate)
        case .refused(_, let errorCode, let description):
            return .failed(status: NATS_ERR, jsCode: errorCode, text: description)
        case nil:
            return nil
        }
    }

    /// The error for an acknowledgement that could not be read.
    func unreadable(_ message: OpaquePointer) -> ProtoqueueError {
        let data = UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: Int(natsMsg_GetDataLength(message)))
        let text = String(decoding: data.prefix(200), as: UTF8.self)
        return ProtoqueueError(.natsError, "\(operation): the server's acknowledgement could not be read: \"\(text)\"")
    }
}
