/// A bounded hand-off from one library thread (which blocks while the channel is full) to async code (which
/// suspends while it is empty): the reverse of ``BlockingChannel``.
final class AsyncResultChannel<Element: Sendable>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var buffer: [Element] = []
    private var head = 0
    private let capacity: Int
    private var finished = false
    private var discarding = false
    private var waitingReceiver: CheckedContinuation<Element?, Never>?

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    private var count: Int { buffer.count - head }

    /// Called with the lock held and `count > 0`.
    private func takeLocked() -> Element {
        let element = buffer[head]
        head += 1
        if head >= 256 && head * 2 >= buffer.count {
            buffer.removeFirst(head)
            head = 0
        }
        lock.broadcast()
        return element
    }

    /// Adds an element, blocking the calling library thread while the channel is full; dropped once the receiver
    /// called ``discard()``.
    func put(_ element: Element) {
        lock.lock()
        while count >= capacity && !discarding { lock.wait() }
        if discarding {
            lock.unlock()
            return
        }
        if let receiver = waitingReceiver {
            waitingReceiver = nil
            lock.unlock()
            receiver.resume(returning: element)
            return
        }
        buffer.append(element)
        lock.unlock()
    }

    /// Marks the end: the receiver gets `nil` once it has taken what is buffered.
    func finish() {
        let receiver = lock.withLock { () -> CheckedContinuation<Element?, Never>? in
            finished = true
            defer { waitingReceiver = nil }
            return waitingReceiver
        }
        receiver?.resume(returning: nil)
    }

    /// The next element, suspending while there is none; `nil` after ``finish()`` once drained.
    func next() async -> Element? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
            lock.lock()
            if count > 0 {
                let element = takeLocked()
                lock.unlock()
                continuation.resume(returning: element)
            } else if finished {
                lock.unlock()
                continuation.resume(returning: nil)
            } else {
                waitingReceiver = continuation
                lock.unlock()
            }
        }
    }

    /// Called by the receiver when it stops reading: what is buffered and every later element are dropped, so the
    /// sending thread never blocks again.
    func discard() {
        lock.withLock {
            discarding = true
            buffer.removeAll()
            head = 0
            lock.broadcast()
        }
    }
}
