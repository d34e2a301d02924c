import Synchronization

/// Fetched deliveries (``Delivery``) on their way from the fetch thread to the processing loop's handlers.
///
/// The fetch thread appends runs of deliveries that already hold slots. A handler task that finishes takes the next
/// queued delivery itself (``take()``); when there is none it parks (``park()``), up to ``maxParked`` of them, and
/// the next delivery goes straight to a parked handler. Only when no handler is parked does the processing loop get
/// it (``next()``) and start a new handler task. So a steady flow reuses a few tasks instead of starting one per
/// delivery.
///
/// Waiters are unsafe continuations: each is kept in one place under the lock and taken out of it when resumed, so it
/// is resumed exactly once (``close()`` resumes those left); a checked one would allocate on every wait.
final class HandOffQueue<Element: Sendable>: Sendable {
    private struct State {
        /// Queued deliveries from `head` on; a taken one leaves `nil` behind, moved out rather than copied (a copy
        /// retains each reference it holds, and those are shared with the other threads).
        var buffer: [Element?] = []
        var head = 0
        /// The processing loop, waiting in ``next()``.
        var loop: UnsafeContinuation<Element?, Never>?
        /// Parked handler tasks, the most recently parked last (it is woken first: its memory is the warmest).
        var parked: [UnsafeContinuation<Element?, Never>] = []
        var closed = false

        mutating func pop() -> Element? {
            guard head < buffer.count else { return nil }
            let delivery = buffer[head].take()
            head += 1
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            }
            return delivery
        }

        /// Pairs queued deliveries with waiting tasks, parked handlers first, taken under the lock: a handler may
        /// empty the queue as soon as it is released, and `nil` would tell a waiter to stop.
        mutating func matchWaiters() -> [(UnsafeContinuation<Element?, Never>, Element)] {
            guard !closed else { return [] }
            var matched: [(UnsafeContinuation<Element?, Never>, Element)] = []
            while let waiter = parked.last, let delivery = pop() {
                parked.removeLast()
                matched.append((waiter, delivery))
            }
            if let waiter = loop, let delivery = pop() {
                loop = nil
                matched.append((waiter, delivery))
            }
            return matched
        }
    }

    private let state = Mutex(State())

    /// What a waiter finds under the lock.
    private enum Outcome {
        case delivery(Element)
        case finished, wait
    }
    /// How many handler tasks may wait for work at once; more end instead.
    let maxParked: Int

    init(maxParked: Int) {
        self.maxParked = maxParked
    }

    /// Queues deliveries, waking parked handlers or the processing loop. After ``close()`` they stay queued for
    /// ``drain()``.
    func handOver(_ deliveries: [Element]) {
        let matched = state.withLock { state in
            state.buffer.append(contentsOf: deliveries.lazy.map { Optional($0) })
            return state.matchWaiters()
        }
        for (waiter, delivery) in matched { waiter.resume(returning: delivery) }
    }

    /// Queues one delivery (``handOver(_:)-([Element])`` without an array).
    func handOver(_ delivery: Element) {
        let waiter = state.withLock { state -> UnsafeContinuation<Element?, Never>? in
            // Anyone waiting has found the queue empty; while it is not, the delivery waits its turn.
            guard !state.closed, state.head == state.buffer.count else {
                state.buffer.append(delivery)
                return nil
            }
            if let parked = state.parked.popLast() { return parked }
            if let loop = state.loop {
                state.loop = nil
                return loop
            }
            state.buffer.append(delivery)
            return nil
        }
        waiter?.resume(returning: delivery)
    }

    /// The next delivery no parked handler took, waiting for one; `nil` once closed. For the processing loop.
    func next() async -> Element? {
        await wait { state, continuation in
            state.loop = continuation
            return true
        }
    }

    /// The next delivery for a handler task that finished its last one: waits for one while fewer than
    /// ``maxParked`` others wait; `nil` when closed or when enough wait already (the task then ends).
    func park() async -> Element? {
        await wait { state, continuation in
            guard state.parked.count < maxParked else { return false }
            state.parked.append(continuation)
            return true
        }
    }

    /// A queued delivery without waiting; `nil` if there is none or the queue is closed.
    func take() -> Element? {
        state.withLock { state in state.closed ? nil : state.pop() }
    }

    /// Stops handing out deliveries; the processing loop and parked handlers get `nil`.
    func close() {
        let waiters = state.withLock { state -> [UnsafeContinuation<Element?, Never>] in
            state.closed = true
            defer {
                state.loop = nil
                state.parked = []
            }
            return state.parked + (state.loop.map { [$0] } ?? [])
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    /// How many handler tasks are parked, and whether the processing loop waits.
    var waiting: (parked: Int, loop: Bool) {
        state.withLock { ($0.parked.count, $0.loop != nil) }
    }

    /// Removes and returns every queued delivery no handler took.
    func drain() -> [Element] {
        state.withLock { state in
            defer {
                state.buffer.removeAll()
                state.head = 0
            }
            return state.buffer[state.head...].compactMap { $0 }
        }
    }

    /// A queued delivery, or else waits after `register` stored the continuation (`true`); `nil` when closed or
    /// when `register` declined.
    private func wait(
        register: (inout State, UnsafeContinuation<Element?, Never>) -> Bool
    ) async -> Element? {
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
        return await withUnsafeContinuation { (continuation: UnsafeContinuation<Element?, Never>) in
            let now = state.withLock { state -> Outcome in
                if state.closed { return .finished }
                if let delivery = state.pop() { return .delivery(delivery) }
                return register(&state, continuation) ? .wait : .finished
            }
            switch now {
            case .delivery(let delivery): continuation.resume(returning: delivery)
            case .finished: continuation.resume(returning: nil)
            case .wait: break
            }
        }
    }
}
