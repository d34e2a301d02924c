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

/// One answer, waited for by a blocked library thread.
private final class AnswerBox: @unchecked Sendable {  // value guarded by lock
    private let lock = ConditionLock()
    private var value: Result<PublishEvent, ProtoqueueError>?

    func put(_ answer: Result<PublishEvent, ProtoqueueError>) {
        lock.withLock {
            if value == nil { value = answer }
            lock.broadcast()
        }
    }

    func wait() -> Result<PublishEvent, ProtoqueueError> {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let value { return value }
            lock.wait()
        }
    }
}

extension NATSClient {
    /// Publishes one prepared message through the shared ``AsyncPublisher`` and waits for its acknowledgement,
    /// re-sending after timeouts (``PublishAttempts``). `js_PublishMsgAsync` on a context without a pending limit
    /// never waits for the server (it only appends to the connection's buffer), so it runs on the caller's task;
    /// the acknowledgement arrives on nats.c's thread.
    func publish(_ prepared: PreparedMessage, maxAttempts: Int) async throws(ProtoqueueError) -> EnqueueReceipt {
        try beginCall()
        defer { endCall() }
        let publisher = try sharedPublisher()
        let maxWait = configuration.requestTimeout.milliseconds
        var attempts = PublishAttempts(prepared, maxAttempts: maxAttempts)
        var message = try prepared.makeMessage()
        while true {
            attempts.sending()
            let sending = message
            let answer: Result<PublishEvent, ProtoqueueError> = await withCheckedContinuation { continuation in
                let once = ResumeOnce(continuation)
                let status = publisher.publish(sending, subject: prepared.subject, maxWait: maxWait) { event in
                    once.resume(.success(event))
                }
                if status != NATS_OK {
                    sending.destroy()
                    once.resume(.failure(attempts.refused(status)))
                }
            }
            switch answer.map({ attempts.next(after: $0, events: events) }) {
            case .failure(let error), .success(.failed(let error)): throw error
            case .success(.stored(let receipt)): return receipt
            case .success(.resend(let again)):
                logger.debug(
                    "publish acknowledgement timed out; sending again with the same id",
                    metadata: ["protoqueue.task_id": "\(prepared.id)", "protoqueue.attempt": "\(attempts.attempt + 1)"]
                )
                message = again
            }
        }
    }

    /// ``publish(_:maxAttempts:)`` for a library thread that may block (the processing hub's, for dead-letter
    /// records). Call it inside a call in progress (``beginCall()``): it also works while the client is closing.
    func publishAndWait(_ prepared: PreparedMessage, maxAttempts: Int) throws(ProtoqueueError) -> EnqueueReceipt {
        let publisher = try sharedPublisher(whileClosing: true)
        let maxWait = configuration.requestTimeout.milliseconds
        var attempts = PublishAttempts(prepared, maxAttempts: maxAttempts)
        var message = try prepared.makeMessage()
        while true {
            attempts.sending()
            let box = AnswerBox()
            let status = publisher.publish(message, subject: prepared.subject, maxWait: maxWait) { event in
                box.put(.success(event))
            }
            if status != NATS_OK {
                message.destroy()
                throw attempts.refused(status)
            }
            switch box.wait().map({ attempts.next(after: $0, events: events) }) {
            case .failure(let error), .success(.failed(let error)): throw error
            case .success(.stored(let receipt)): return receipt
            case .success(.resend(let again)): message = again
            }
        }
    }
}
