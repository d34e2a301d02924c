/// One answer, waited for by a blocked library thread.
private final class AnswerBox: @unchecked Sendable {  // value guarded by lock
    private let lock = ConditionLock()
    private var value: Result<EnqueueReceipt, ProtoqueueError>?

    func put(_ answer: Result<EnqueueReceipt, ProtoqueueError>) {
        lock.withLock {
            value = answer
            lock.broadcast()
        }
    }

    func wait() -> Result<EnqueueReceipt, ProtoqueueError> {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let value { return value }
            lock.wait()
        }
    }
}

extension NATSClient {
    /// Publishes one prepared message through the connection's ``PublishWindow`` and waits for the server to store
    /// it (re-sent under the same id after acknowledgement timeouts, `maxAttempts` sends at most, and for up to
    /// ``PublishAttempts/noStreamPatience`` while no stream answers its subject).
    func publish(_ prepared: PreparedMessage, maxAttempts: Int) async throws(ProtoqueueError) -> EnqueueReceipt {
        try beginCall()
        defer { endCall() }
        let window = try publishWindow()
        let result = await withCheckedContinuation { continuation in
            window.publish(prepared, maxAttempts: maxAttempts) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// ``publish(_:maxAttempts:)`` for a library thread that may block (the processing hub's, for dead-letter
    /// records). Call it inside a call in progress (``beginCall()``): it also works while the client is closing.
    /// A subject no stream answers fails at once: the thread serves every delivery of its queues meanwhile.
    func publishAndWait(_ prepared: PreparedMessage, maxAttempts: Int) throws(ProtoqueueError) -> EnqueueReceipt {
        let window = try publishWindow(whileClosing: true)
        let box = AnswerBox()
        window.publish(prepared, maxAttempts: maxAttempts, noStreamPatience: .zero) { box.put($0) }
        return try box.wait().get()
    }
}
