import Synchronization

/// Fetched deliveries on their way from the fetch thread to the processing loop's handlers.
///
/// The fetch thread appends runs of deliveries that already hold slots; the processing loop waits for the next one
/// (``next()``), and a handler that finishes takes the next one itself (``take()``) instead of ending.
final class HandOffQueue: Sendable {
    private struct State {
        var buffer: [Delivery] = []
        var head = 0
        var waiter: CheckedContinuation<Delivery?, Never>?
        var closed = false

        mutating func pop() -> Delivery? {
            guard head < buffer.count else { return nil }
            let delivery = buffer[head]
            head += 1
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            }
            return delivery
        }
    }

    private let state = Mutex(State())

    /// Queues deliveries, waking the processing loop if it waits. After ``close()`` they stay queued for
    /// ``drain()``.
    func handOver(_ deliveries: [Delivery]) {
        let handed = state.withLock { state -> (CheckedContinuation<Delivery?, Never>, Delivery)? in
            state.buffer.append(contentsOf: deliveries)
            guard !state.closed, let waiter = state.waiter, let first = state.pop() else { return nil }
            state.waiter = nil
            return (waiter, first)
        }
        // The first one goes directly to the waiting loop (taken under the same lock: a handler may empty the
        // queue as soon as it is released, and `nil` would tell the loop to stop).
        if let (waiter, first) = handed { waiter.resume(returning: first) }
    }

    /// Queues one delivery (``handOver(_:)-([Delivery])`` without an array).
    func handOver(_ delivery: Delivery) {
        let waiter = state.withLock { state -> CheckedContinuation<Delivery?, Never>? in
            guard !state.closed, let waiter = state.waiter, state.head == state.buffer.count else {
                state.buffer.append(delivery)
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: delivery)
    }

    /// The next delivery, waiting for one; `nil` once closed.
    func next() async -> Delivery? {
        enum Outcome {
            case delivery(Delivery)
            case finished, wait
        }
        let fast = state.withLock { state -> Outcome in
            if state.closed { return .finished }
            if let delivery = state.pop() { return .delivery(delivery) }
            return .wait
        }
        switch fast {
        case .delivery(let delivery): return delivery
        case .finished: return nil
        case .wait: break
        }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Delivery?, Never>) in
            let now = state.withLock { state -> Outcome in
                if state.closed { return .finished }
                if let delivery = state.pop() { return .delivery(delivery) }
                state.waiter = continuation
                return .wait
            }
            switch now {
            case .delivery(let delivery): continuation.resume(returning: delivery)
            case .finished: continuation.resume(returning: nil)
            case .wait: break
            }
        }
    }

    /// A queued delivery without waiting; `nil` if there is none or the queue is closed.
    func take() -> Delivery? {
        state.withLock { state in state.closed ? nil : state.pop() }
    }

    /// Stops handing out deliveries; a waiting ``next()`` returns `nil`.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<Delivery?, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Removes and returns every queued delivery no handler took.
    func drain() -> [Delivery] {
        state.withLock { state in
            defer {
                state.buffer.removeAll()
                state.head = 0
            }
            return Array(state.buffer[state.head...])
        }
    }
}
