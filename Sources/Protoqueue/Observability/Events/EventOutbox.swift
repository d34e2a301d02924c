import Foundation
import Logging
import Synchronization

/// Lifecycle events on their way to the server: a bounded buffer that processing and enqueueing only ever offer to
/// (never waiting, never encoding), and one thread of the library's own that encodes and publishes them, where a
/// publish may block on a full socket. The thread wakes at most about once a millisecond and then takes everything
/// buffered, so a busy queue costs its tasks no wake-up per event, and hands it on in runs of one kind
/// (``QueueEvents/runs(_:)``), each published as one message. An event that finds the buffer full, or that the
/// transport cannot take (closed, or its reconnect buffer full), is dropped and counted, with a warning at the first
/// drop and every thousandth.
final class EventOutbox: @unchecked Sendable {
    private let lock = ConditionLock()
    private var buffer: [LifecycleEvent] = []
    private let capacity: Int
    private var closed = false
    private var sleeping = false
    private var ended = false
    private var endWaiters: [CheckedContinuation<Void, Never>] = []
    private let send: @Sendable ([LifecycleEvent]) -> Int
    private let logger: Logger
    private let publishedCount = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)

    /// How long the thread lets events gather after it woke.
    static let gatherMicroseconds: UInt32 = 1000

    /// Events handed to the transport.
    var published: Int { publishedCount.load(ordering: .relaxed) }
    /// Events dropped: the buffer was full, or the transport refused them.
    var dropped: Int { droppedCount.load(ordering: .relaxed) }

    /// Starts the publishing thread.
    /// - Parameters:
    ///   - capacity: Events that may wait; an offer beyond it is refused.
    ///   - logger: Where drops are reported.
    ///   - send: Writes and publishes a run of events of one kind (fire-and-forget), on the outbox's thread; returns
    ///     how many of them it handed to the transport.
    init(capacity: Int, logger: Logger, send: @escaping @Sendable ([LifecycleEvent]) -> Int) {
        self.capacity = max(1, capacity)
        self.logger = logger
        self.send = send
        buffer.reserveCapacity(min(self.capacity, 4096))
        let thread = Thread { [self] in self.run() }
        thread.name = "protoqueue-events"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Adds an event unless the buffer is full or the outbox closed; else counts it as dropped.
    func offer(_ event: LifecycleEvent) {
        lock.lock()
        guard !closed, buffer.count < capacity else {
            lock.unlock()
            drop(1)
            return
        }
        buffer.append(event)
        let wake = sleeping
        sleeping = false
        lock.unlock()
        if wake { lock.broadcast() }
    }

    /// Refuses later offers, and returns once the thread has handed every buffered event to the transport and
    /// ended, so that a connection closing after it still sends them.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            closed = true
            if ended {
                lock.unlock()
                continuation.resume()
                return
            }
            endWaiters.append(continuation)
            lock.unlock()
            lock.broadcast()
        }
    }

    private func run() {
        var batch: [LifecycleEvent] = []
        while true {
            lock.lock()
            while buffer.isEmpty && !closed {
                sleeping = true
                lock.wait()
            }
            sleeping = false
            if buffer.isEmpty {
                ended = true
                let waiters = endWaiters
                endWaiters = []
                lock.unlock()
                for waiter in waiters { waiter.resume() }
                return
            }
            let gather = !closed && buffer.count < capacity / 2
            lock.unlock()
            if gather { usleep(Self.gatherMicroseconds) }
            lock.withLock { swap(&batch, &buffer) }
            for run in QueueEvents.runs(&batch) {
                let sent = send(run)
                if sent > 0 { publishedCount.add(sent, ordering: .relaxed) }
                if sent < run.count { drop(run.count - sent) }
            }
            batch.removeAll(keepingCapacity: true)
        }
    }

    /// Counts dropped events; logs the first drop and then every thousandth, so that a flood of drops does not
    /// flood the log.
    private func drop(_ count: Int) {
        let dropped = droppedCount.add(count, ordering: .relaxed).newValue
        // Warn when this drop reached the first event or crossed a thousand.
        guard dropped == count || dropped / 1000 != (dropped - count) / 1000 else { return }
        logger.warning(
            "lifecycle events dropped: the publisher cannot keep up (tasks are not affected)",
            metadata: ["protoqueue.events_dropped": "\(dropped)"])
    }
}
