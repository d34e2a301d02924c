import Foundation
import Synchronization

/// Lifecycle events on their way to the server: a bounded buffer that processing and enqueueing only ever offer to
/// (never waiting), and one thread of the library's own that hands them to the transport, where a publish may block
/// on a full socket. An event that finds the buffer full, or that the transport cannot take (closed, or its
/// reconnect buffer full), is dropped and counted.
final class EventOutbox: @unchecked Sendable {
    /// One encoded event and its subject.
    struct Event {
        var subject: String
        var body: [UInt8]
    }

    private let lock = ConditionLock()
    private var buffer: [Event?]
    private var head = 0
    private var count = 0
    private var closed = false
    private let send: @Sendable (Event) -> Bool
    private let publishedCount = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)

    /// Events handed to the transport.
    var published: Int { publishedCount.load(ordering: .relaxed) }
    /// Events dropped: the buffer was full, or the transport refused them.
    var dropped: Int { droppedCount.load(ordering: .relaxed) }

    /// Starts the publishing thread.
    /// - Parameters:
    ///   - capacity: Events that may wait; an offer beyond it is refused.
    ///   - send: Publishes one event (fire-and-forget), on the outbox's thread; `false` when the transport refused it.
    init(capacity: Int, send: @escaping @Sendable (Event) -> Bool) {
        buffer = Array(repeating: nil, count: max(1, capacity))
        self.send = send
        let thread = Thread { [self] in self.run() }
        thread.name = "protoqueue-events"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Adds an event unless the buffer is full or the outbox closed; else counts it as dropped.
    /// - Returns: Whether the event was taken.
    @discardableResult
    func offer(_ event: Event) -> Bool {
        lock.lock()
        guard !closed, count < buffer.count else {
            lock.unlock()
            droppedCount.add(1, ordering: .relaxed)
            return false
        }
        buffer[(head + count) % buffer.count] = event
        count += 1
        if count == 1 { lock.broadcast() }
        lock.unlock()
        return true
    }

    /// Stops the thread once it has sent what is buffered; later offers are refused.
    func close() {
        lock.withLock {
            closed = true
            lock.broadcast()
        }
    }

    private func run() {
        while true {
            lock.lock()
            while count == 0 && !closed { lock.wait() }
            guard count > 0 else {
                lock.unlock()
                return
            }
            let event = buffer[head]!
            buffer[head] = nil
            head = (head + 1) % buffer.count
            count -= 1
            lock.unlock()
            if send(event) {
                publishedCount.add(1, ordering: .relaxed)
            } else {
                droppedCount.add(1, ordering: .relaxed)
            }
        }
    }
}
