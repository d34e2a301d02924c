import CNats
import Synchronization

/// Resumes a continuation at most once, whichever of several callbacks comes first.
final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, Never>?>

    init(_ continuation: CheckedContinuation<Value, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: Value) {
        let pending = continuation.withLock { slot -> CheckedContinuation<Value, Never>? in
            defer { slot = nil }
            return slot
        }
        pending?.resume(returning: value)
    }
}

extension NATSClient {
    /// Publishes one prepared task through the shared asynchronous publisher and waits for its acknowledgement.
    /// Timed-out publishes are re-sent (same message, same id) from a connection thread, up to `maxAttempts`.
    func publish(_ prepared: PreparedMessage, maxAttempts: Int) async throws(ProtoqueueError) -> EnqueueReceipt {
        try beginCall()
        defer { endCall() }
        let publisher = try sharedPublisher()
        let maxWait = configuration.requestTimeout.milliseconds
        let started = MonotonicClock.nanoseconds()
        let subject = prepared.subject
        var resend: OwnedMessage?
        for attempt in 1...max(1, maxAttempts) {
            // js_PublishMsgAsync on a jsCtx without a pending limit never waits for the server (it only appends to
            // the connection's buffer), so it runs on the caller's task; the acknowledgement arrives on nats.c's thread.
            let message: OwnedMessage
            if let reuse = resend {
                message = reuse
            } else {
                message = try prepared.makeMessage()
            }
            resend = nil
            let outcome: Result<PublishEvent, ProtoqueueError> = await withCheckedContinuation { continuation in
                let once = ResumeOnce(continuation)
                let status = publisher.publish(message, subject: subject, maxWait: maxWait) { event in
                    once.resume(.success(event))
                }
                if status != NATS_OK {
                    message.destroy()
                    once.resume(.failure(NATSErrorMapping.error(status: status, operation: "publish to \"\(subject)\"", subject: subject)))
                }
            }
            switch outcome {
            case .failure(let error):
                throw error
            case .success(.acknowledged(let stream, let sequence, let duplicate)):
                return EnqueueReceipt(id: prepared.id, sequence: sequence, duplicate: duplicate, stream: stream)
            case .success(.permissionDenied(let violation)):
                throw NATSErrorMapping.permissionDenied(operation: "publish to \"\(subject)\"", violation: violation)
            case .success(.failed(let status, let jsCode, let text, let message)):
                if status == NATS_TIMEOUT {
                    if let violation = events.recentViolation(since: started, explaining: .publish(subject)) {
                        message.destroy()
                        throw NATSErrorMapping.permissionDenied(operation: "publish to \"\(subject)\"", violation: violation)
                    }
                    if attempt < maxAttempts {
                        logger.debug("publish acknowledgement timed out; sending again with the same id", metadata: ["protoqueue.task_id": "\(prepared.id)", "protoqueue.attempt": "\(attempt + 1)"])
                        resend = message
                        continue
                    }
                }
                message.destroy()
                var error = NATSErrorMapping.error(status: status, jsCode: jsCode, operation: "publish task \(prepared.id) to \"\(subject)\"", subject: subject, errorText: text)
                if status == NATS_TIMEOUT { error.message += " after \(attempt) attempts" }
                throw error
            }
        }
        resend?.destroy()
        throw ProtoqueueError(.timeout, "publish task \(prepared.id) to \"\(subject)\": no acknowledgement")
    }
}
