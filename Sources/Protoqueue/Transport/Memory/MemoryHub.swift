import Foundation
import Synchronization

/// The processing side of a ``MemoryBroker`` (its ``DeliveryTransport``), shared by every processor on it, shaped
/// like ``ProcessingHub``: one thread runs the settlements in the order they were queued, then returns the settled
/// slots (``ProcessorEngine/release(_:)``), answers the waiting pull requests from the broker's store, and gives
/// the processors their turns. Engine callbacks are made on that thread with no lock of the hub held, since an
/// engine calls back into the hub under its own lock (``pull(for:count:expires:number:)``,
/// ``returnUnclaimed(_:)``).
///
/// Pull requests expire on the real monotonic clock (the engine's), not on the broker's virtual one; a request of
/// a stopping processor is ended at once with `408` rather than at its expiry.
final class MemoryHub: DeliveryTransport, @unchecked Sendable {
    enum Command {
        case settle(Delivery, Settlement, SettlementReport?)
        case inProgress(Delivery)
        case returned(Delivery)
        case checkConsumer(ProcessorEngine)
        case finish(ExitSignal)
    }

    struct WaitingPull {
        let engine: ProcessorEngine
        let number: UInt64
        var remaining: Int
        let expiresAt: UInt64
    }

    /// Strong: the broker drops the hub when it closes (``stop()``).
    let broker: MemoryBroker
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var commands: [Command] = []
    private var touched: Set<UInt64> = []
    private var pulls: [WaitingPull] = []
    private var engines: [UInt64: ProcessorEngine] = [:]
    private var woken = false
    private var busy = false
    private var stopping = false
    private var nextID: UInt64 = 0

    init(broker: MemoryBroker) {
        self.broker = broker
        let thread = Thread { [self] in loop() }
        thread.name = "protoqueue-memory"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Whether the thread has nothing queued and is not running anything.
    var isQuiet: Bool { lock.withLock { commands.isEmpty && !busy && !woken } }

    /// The waiting pull requests for the consumer of `stream`.
    func waitingPulls(stream: String) -> Int {
        lock.withLock { pulls.filter { $0.engine.layout.streamName == stream }.count }
    }

    /// Has the thread look at the store again (a task was stored, or virtual time moved).
    func wake() {
        lock.withLock {
            woken = true
            lock.broadcast()
        }
    }

    /// Stops every processor with ``ProtoqueueError/Code/connectionClosed``, as a closing connection does.
    func connectionClosing() {
        for engine in lock.withLock({ Array(engines.values) }) {
            engine.fail(ProtoqueueError(.connectionClosed, "the in-memory connection was closed while processing"))
        }
    }

    /// Ends the thread once the queued commands ran; call when no processor runs any more.
    func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
    }

    private func enqueue(_ command: Command) {
        lock.withLock {
            commands.append(command)
            lock.broadcast()
        }
    }

    // MARK: DeliveryTransport

    func makeProcessorID() -> UInt64 {
        lock.withLock {
            nextID += 1
            return nextID
        }
    }

    func register(_ engine: ProcessorEngine) {
        lock.withLock { engines[engine.id] = engine }
        touch(engine.id)
    }

    func unregister(_ engine: ProcessorEngine) {
        lock.withLock {
            engines[engine.id] = nil
            pulls.removeAll { $0.engine === engine }
        }
    }

    func touch(_ id: UInt64) {
        lock.withLock {
            touched.insert(id)
            lock.broadcast()
        }
    }

    func pull(for engine: ProcessorEngine, count: Int, expires: UInt64, number: UInt64) -> ProtoqueueError? {
        lock.withLock {
            pulls.append(
                WaitingPull(
                    engine: engine, number: number, remaining: count, expiresAt: MonotonicClock.nanoseconds() + expires)
            )
            woken = true
            lock.broadcast()
        }
        return nil
    }

    func signalInProgress(_ delivery: Delivery) { enqueue(.inProgress(delivery)) }

    func settle(_ delivery: Delivery, _ settlement: Settlement, then report: SettlementReport?) {
        enqueue(.settle(delivery, settlement, report))
    }

    func checkConsumer(of engine: ProcessorEngine, reason: String) { enqueue(.checkConsumer(engine)) }

    func returnUnclaimed(_ delivery: Delivery) { enqueue(.returned(delivery)) }

    func flush(for engine: ProcessorEngine) async {
        let flushed = ExitSignal()
        enqueue(.finish(flushed))
        await flushed.wait()
    }

    // MARK: Thread

    private func loop() {
        var deadlines: [UInt64: UInt64] = [:]
        while true {
            let next = (deadlines.values + lock.withLock { pulls.map(\.expiresAt) }).min()
            lock.lock()
            busy = false
            lock.wait(while: { commands.isEmpty && touched.isEmpty && !woken && !stopping }, deadline: next)
            if stopping && commands.isEmpty {
                lock.unlock()
                return
            }
            let batch = commands
            commands.removeAll()
            var due = touched
            touched.removeAll()
            woken = false
            busy = true
            lock.unlock()

            var releases: [UInt64: (ProcessorEngine, Int)] = [:]
            for command in batch {
                switch command {
                case .settle(let delivery, let settlement, let report):
                    let outcome = MemoryWire(broker: broker, delivery: delivery).perform(settlement, of: delivery)
                    report?.tell(outcome, late: delivery.missedAckWindow)
                    releases[delivery.engine.id, default: (delivery.engine, 0)].1 += 1
                case .inProgress(let delivery):
                    MemoryWire(broker: broker, delivery: delivery).reschedule(delay: nil)
                case .returned(let delivery):
                    MemoryWire(broker: broker, delivery: delivery).reschedule(delay: 0)
                case .checkConsumer(let engine):
                    let layout = engine.layout
                    engine.checkConsumer(after: "409 Consumer Deleted") { () throws(ProtoqueueError) -> Bool in
                        self.broker.state.withLock {
                            $0.store.streams[layout.streamName]?.consumers[layout.consumerName] != nil
                        }
                    }
                    due.insert(engine.id)
                case .finish(let signal):
                    signal.signal()
                }
            }
            for (id, (engine, count)) in releases {
                engine.release(count)
                due.insert(id)
            }
            let now = MonotonicClock.nanoseconds()
            dispatch(now: now)
            for (id, deadline) in deadlines where deadline <= now { due.insert(id) }
            let turning = lock.withLock { due.compactMap { engines[$0] } }
            for id in due { deadlines[id] = nil }
            for engine in turning {
                if let deadline = engine.turn(now: now).deadline { deadlines[engine.id] = deadline }
            }
        }
    }

    /// Answers the waiting pull requests in the order they came: tasks the store has for them, `408` for the
    /// expired ones and those of stopping processors. The engines hear of it after the lock is let go.
    ///
    /// `isStopping` takes an engine's lock under the hub's. The other order, an engine calling `pull` or
    /// `returnUnclaimed` under its own lock, happens only on this thread (in ``loop()``, from `turn` and
    /// `delivered`) with the hub's lock not held, so the two cannot wait on each other.
    private func dispatch(now: UInt64) {
        var deliveries: [(ProcessorEngine, MemoryMessage)] = []
        var ended: [(ProcessorEngine, UInt64)] = []
        lock.withLock {
            var kept: [WaitingPull] = []
            for var pull in pulls {
                if pull.engine.isStopping || pull.expiresAt <= now {
                    ended.append((pull.engine, pull.number))
                    continue
                }
                let layout = pull.engine.layout
                while pull.remaining > 0, let message = broker.nextDelivery(layout: layout) {
                    deliveries.append((pull.engine, message))
                    pull.remaining -= 1
                }
                if pull.remaining > 0 { kept.append(pull) }
            }
            pulls = kept
        }
        for (engine, message) in deliveries { engine.delivered(Delivery(message: message, engine: engine)) }
        for (engine, number) in ended {
            engine.requestEnded(PullStatus(code: "408", description: "Request Timeout", request: number))
        }
    }
}

/// A delivered task as the memory transport holds it: a copy of the stored message and its delivery metadata.
struct MemoryMessage: TransportMessage {
    let subject: String
    let headers: [(name: String, value: String)]
    let body: [UInt8]
    let delivery: DeliveryMetadata

    func read(expecting texts: [String]) -> ReceivedMessage {
        var received = ReceivedHeaders()
        received.reserveCapacity(headers.count)
        for (name, value) in headers { received.append(name, value) }
        return ReceivedMessage(
            subject: subject, data: body, headers: received, deliveries: delivery.deliveries,
            streamSequence: delivery.streamSequence)
    }

    func metadata() -> DeliveryMetadata { delivery }
}

/// Settlements of one memory delivery, applied to the broker's store.
struct MemoryWire: SettlementWire {
    let broker: MemoryBroker
    let message: MemoryMessage

    init(broker: MemoryBroker, delivery: Delivery) {
        self.broker = broker
        // Only the memory hub settles memory deliveries.
        self.message = delivery.message as! MemoryMessage
    }

    func acknowledge(confirmed: Bool) -> String? {
        let delivery = message.delivery
        broker.state.withLock {
            $0.store.acknowledge(
                stream: delivery.stream, consumer: delivery.consumer, sequence: delivery.streamSequence)
        }
        return nil
    }

    func negativelyAcknowledge(delay: Duration) -> String? {
        reschedule(delay: UInt64(max(0, delay.nanoseconds)))
        return nil
    }

    func terminate() -> String? { acknowledge(confirmed: false) }

    /// Due again now. The worker measures ack windows on the real clock and the broker on its virtual one, which
    /// moves only when a test advances it: without this, a task the worker left would stay held until then.
    func leave() { reschedule(delay: 0) }

    func originalHeaders() -> [(name: String, value: String)] { message.headers }

    func originalBody() -> [UInt8] { message.body }

    func publishAndWait(_ message: PreparedMessage) throws(ProtoqueueError) { _ = try broker.store(message) }

    /// `-NAK` after `delay` ns, or `+WPI` when `nil`.
    func reschedule(delay: UInt64?) {
        let delivery = message.delivery
        broker.state.withLock { state in
            state.store.reschedule(
                stream: delivery.stream, consumer: delivery.consumer, sequence: delivery.streamSequence,
                deliveries: delivery.deliveries, delay: delay, now: state.now)
        }
    }
}
