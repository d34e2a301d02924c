import Synchronization

/// One fetched task, owned by the library until its transport has put the settlement on the wire.
/// Exactly one settlement is accepted; in-progress signals are accepted only before it.
final class Delivery: Sendable {
    /// The message as the transport holds it.
    let message: any TransportMessage
    /// The processor it was delivered to.
    let engine: ProcessorEngine
    private let settled = Mutex(false)
    private let claimed = Atomic<Bool>(false)
    /// When the server's ack window for this delivery last restarted (monotonic ns): its receipt, then each
    /// in-progress signal.
    private let windowStart: Atomic<UInt64>
    private let windowMissed = Atomic<Bool>(false)
    private let timeoutExpired = Atomic<Bool>(false)

    init(message: any TransportMessage, engine: ProcessorEngine) {
        self.message = message
        self.engine = engine
        self.windowStart = Atomic(MonotonicClock.nanoseconds())
    }

    /// Tells the server the task is still being worked on (in order with the settlement), unless already settled;
    /// this restarts the ack window.
    func signalInProgress() {
        settled.withLock { done in
            guard !done else { return }
            noteWindow(restart: true)
            engine.deliveries.signalInProgress(self)
        }
    }

    /// Moves the start of the ack window back to `time` (monotonic ns) if it is earlier: the server sent the
    /// delivery by then.
    func windowStarted(noLaterThan time: UInt64) {
        if time < windowStart.load(ordering: .relaxed) { windowStart.store(time, ordering: .relaxed) }
    }

    /// Nanoseconds since the ack window last restarted, at `now` (monotonic ns).
    func sinceWindowStart(now: UInt64) -> UInt64 {
        let start = windowStart.load(ordering: .relaxed)
        return now > start ? now - start : 0
    }

    /// Whether an in-progress signal or the settlement went out after the ack window had run out: the server may
    /// have delivered the task to another worker meanwhile.
    var missedAckWindow: Bool { windowMissed.load(ordering: .relaxed) }

    /// Whether the ack window ran out before a handler took the delivery, at `now` (monotonic ns): a signal went out
    /// too late, or none went out in time.
    func waitedPastAckWindow(now: UInt64) -> Bool {
        if missedAckWindow { return true }
        let elapsed = sinceWindowStart(now: now)
        // No window is shorter than the shortest: a delivery taken promptly stops here.
        guard elapsed > engine.shortestAckWindow else { return false }
        let window = engine.ackWindow(deliveries: message.metadata().deliveries)
        return AckWindow.isMissed(elapsed: .nanoseconds(elapsed), window: window)
    }

    /// Whether the task's timeout cancelled its handler.
    var timedOut: Bool { timeoutExpired.load(ordering: .relaxed) }

    /// Records that the task's timeout cancelled its handler.
    func markTimedOut() { timeoutExpired.store(true, ordering: .relaxed) }

    /// Notes a signal or the settlement going out now: records a missed window, and restarts it when `restart`.
    private func noteWindow(restart: Bool) {
        let now = MonotonicClock.nanoseconds()
        let start = restart ? windowStart.exchange(now, ordering: .relaxed) : windowStart.load(ordering: .relaxed)
        let elapsed = now > start ? now - start : 0
        // No window is shorter than the shortest: most settlements stop here without reading the metadata.
        guard elapsed > engine.shortestAckWindow else { return }
        let window = engine.ackWindow(deliveries: message.metadata().deliveries)
        if AckWindow.isMissed(elapsed: .nanoseconds(elapsed), window: window) {
            windowMissed.store(true, ordering: .relaxed)
        }
    }

    /// Hands the settlement to the transport, which tells `report` the final outcome once it is on the wire;
    /// returns `false` (and never tells `report`) if the delivery was settled already.
    @discardableResult
    func settle(_ settlement: Settlement, then report: SettlementReport? = nil) -> Bool {
        settled.withLock { done -> Bool in
            if done { return false }
            done = true
            noteWindow(restart: false)
            engine.deliveries.settle(self, settlement, then: report)
            return true
        }
    }

    /// Takes the delivery for a handler run; `false` when a run took it already. A delivery runs once: its message
    /// may be freed as soon as it is settled.
    func claim() -> Bool {
        !claimed.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// Reads subject, payload, headers and metadata. Call before settling.
    /// - Parameter texts: Header values the task probably carries, for ``TransportMessage/read(expecting:)``.
    func read(expecting texts: [String] = []) -> ReceivedMessage { message.read(expecting: texts) }

    /// The dead-letter record of this delivery failing for `reason`, stamped now; its attempts are the
    /// `priorAttempts` a rescheduled task carried plus this message's deliveries. Call before the settlement is on
    /// the wire.
    func deadLetterRecord(
        reason: DeadLetterReason, error: String, details: [String: String], priorAttempts: Int
    ) -> DeadLetterRecord {
        let metadata = message.metadata()
        return DeadLetterRecord(
            reason: reason, error: error, details: details,
            attempts: UInt64(max(0, priorAttempts)) + metadata.deliveries, subject: message.subject,
            stream: metadata.stream, sequence: metadata.streamSequence, consumer: metadata.consumer,
            failedAt: WallClock.unixMilliseconds()
        )
    }
}
