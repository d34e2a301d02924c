/// A bounded hand-off from async code (which suspends when the channel is full) to one library thread (which
/// blocks when it is empty).
final class BlockingChannel<Element: Sendable>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var buffer: [Element] = []
    private var head = 0
    private let capacity: Int
    private var finished = false
    private var closed = false
    private var waitingSender: CheckedContinuation<Void, Never>?

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    private var count: Int { buffer.count - head }

    /// Adds an element, suspending while the channel is full. Returns `false` if the receiver closed it.
    func send(_ element: Element) async -> Bool {
        while true {
            let outcome: Bool? = lock.withLock {
                if closed { return false }
                if count < capacity {
                    buffer.append(element)
                    lock.broadcast()
                    return true
                }
                return nil
            }
            if let outcome { return outcome }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = lock.withLock { () -> Bool in
                    if closed || count < capacity { return true }
                    waitingSender = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Marks the end of the input.
    func finish() {
        lock.withLock {
            finished = true
            lock.broadcast()
        }
    }

    /// Called by the receiver when it stops early: senders stop waiting and further sends return `false`.
    func close() {
        let sender = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            closed = true
            defer { waitingSender = nil }
            return waitingSender
        }
        sender?.resume()
    }

    /// Takes the next element, blocking the calling library thread; `nil` after ``finish()`` once drained.
    func receive() -> Element? {
        lock.lock()
        while count == 0 && !finished { lock.wait() }
        guard count > 0 else {
            lock.unlock()
            return nil
        }
        let element = buffer[head]
        head += 1
        if head >= 256 && head * 2 >= buffer.count {
            buffer.removeFirst(head)
            head = 0
        }
        let sender = waitingSender
        waitingSender = nil
        lock.unlock()
        sender?.resume()
        return element
    }
}
