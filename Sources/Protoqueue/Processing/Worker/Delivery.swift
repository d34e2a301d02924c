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

    init(message: any TransportMessage, engine: ProcessorEngine) {
        self.message = message
        self.engine = engine
    }

    /// Tells the server the task is still being worked on (in order with the settlement), unless already settled.
    func signalInProgress() {
        settled.withLock { done in
            if !done { engine.deliveries.signalInProgress(self) }
        }
    }

    /// Hands the settlement to the transport, which calls `observer` with the final outcome once it is on the wire;
    /// returns `false` (and never calls `observer`) if the delivery was settled already.
    @discardableResult
    func settle(_ settlement: Settlement, then observer: SettlementObserver? = nil) -> Bool {
        settled.withLock { done -> Bool in
            if done { return false }
            done = true
            engine.deliveries.settle(self, settlement, then: observer)
            return true
        }
    }

    /// Takes the delivery for a handler run; `false` when a run took it already. A delivery runs once: its message
    /// may be freed as soon as it is settled.
    func claim() -> Bool {
        !claimed.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// Reads subject, payload, headers and metadata. Call before settling.
    func read() -> ReceivedMessage { message.read() }

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
