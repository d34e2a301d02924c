import Logging
import Synchronization

/// One running processor: its fetch state, its deliveries on their way to handlers, and what stops it.
///
/// It owns no thread. Its ``DeliveryTransport`` (shared by the processors on a connection) hands it deliveries
/// (``delivered(_:)``) and the server's word on its pull requests (``requestEnded(_:)``), gives it turns to send
/// pull requests (``turn(now:)``) and returns its slots as settlements go out (``release(_:)``). The decisions are
/// in ``FetchState``: a pull request asks for as many tasks as there are free slots and expires after about
/// ``ProcessOptions/fetchTimeout``.
final class ProcessorEngine: Sendable {
    let id: UInt64
    let deliveries: any DeliveryTransport
    let transport: any QueueTransport
    let layout: QueueLayout
    let configuration: QueueConfiguration
    let logger: Logger
    let confirmedAcks: Bool
    /// Whether long retries are rescheduled (``Settlement/reschedule(delay:)``): the queue's scheduled-task
    /// consumer exists and a processor of this worker serves it.
    let reschedulesRetries: Bool
    /// Fetched deliveries waiting for a handler.
    let handOff: HandOffQueue<Delivery>
    /// The consumer's ack wait and backoff, which set each delivery's ack window (``AckWindow``).
    let consumerSettings: ConsumerSettings
    /// The shortest ack window of any delivery, in nanoseconds.
    let shortestAckWindow: UInt64
    let watch: ConsumerWatch
    /// Its fetch state; every change to it is made under this lock.
    let state: Mutex<FetchState<Delivery>>
    /// The budget shared with the other queues of a ``QueueWorker``; `nil` for a processor of its own.
    private let budget: SlotBudget?
    /// This processor's own limit.
    private let capacity: Int
    /// Tasks it fetches ahead of its handlers; `.none` with a shared budget.
    private let prefetch: Prefetch
    /// The handlers' mean run time, ns, as a moving average over about the last 16 (0 before the first).
    private let meanRunTime = Atomic<UInt64>(0)
    /// How often a parked delivery is signalled in progress: a third of the shortest ack window, ns.
    private let parkedSignalInterval: UInt64
    /// With a shared budget: the last pull request ended before it was filled (the queue ran dry), so the next one
    /// asks for one task only (``SlotBudget/probe(for:footprint:wake:)``): an idle queue holds at most one slot of
    /// the budget instead of a share, and none while other queues wait for slots.
    private let probing = Atomic<Bool>(true)
    /// When the last probe that took a slot of the shared budget was sent (monotonic ns).
    private let probeSentAt = Atomic<UInt64>(0)
    /// How long a probe that took a slot keeps it while other processors wait (``SlotBudget/ProbeRelease``): a
    /// queue with work answers within it, and one without lets the slot go after it.
    static let probeGrace: UInt64 = 100_000_000
    /// Deliveries received so far (``AckPendingWatch`` tells a stalled consumer from a flowing one by it).
    private let deliveryCount = Atomic<UInt64>(0)
    private let fatal = FirstError()
    private let fetchEnded = ExitSignal()

    private init(
        transport: any QueueTransport, deliveries: any DeliveryTransport, layout: QueueLayout,
        configuration: QueueConfiguration, options: ProcessOptions, budget: SlotBudget?, reschedulesRetries: Bool,
        expectedShare: Int?, logger: Logger
    ) {
        self.budget = budget
        self.reschedulesRetries = reschedulesRetries
        self.capacity = options.concurrency
        self.prefetch = budget == nil ? options.prefetch : .none
        // As many handler tasks may wait for work as may run: a steady flow starts none.
        self.handOff = HandOffQueue(maxParked: options.concurrency)
        self.transport = transport
        self.deliveries = deliveries
        self.id = deliveries.makeProcessorID()
        self.layout = layout
        self.configuration = configuration
        let settings = ConsumerSettings(layout: layout, configuration: configuration)
        self.consumerSettings = settings
        self.shortestAckWindow = UInt64(
            max(0, AckWindow.shortest(ackWait: settings.ackWait, backoff: settings.backoff).nanoseconds))
        self.parkedSignalInterval = max(1_000_000, shortestAckWindow / 3)
        self.logger = logger
        self.confirmedAcks = options.ackMode.confirmed
        self.watch = ConsumerWatch(layout: layout)
        self.state = Mutex(
            FetchState(
                concurrency: options.concurrency, expiry: UInt64(max(0, options.fetchTimeout.nanoseconds)),
                expectedShare: expectedShare)
        )
    }

    /// The ack window of a delivery with `deliveries` deliveries.
    func ackWindow(deliveries: UInt64) -> Duration {
        AckWindow.length(ackWait: consumerSettings.ackWait, backoff: consumerSettings.backoff, deliveries: deliveries)
    }

    /// Whether failed tasks go to the dead-letter stream (otherwise they are terminated and dropped).
    var deadLettersEnabled: Bool { configuration.deadLetter.enabled }

    /// Checks that the durable consumer exists and registers a processor with the transport.
    static func start(
        transport: any QueueTransport, layout: QueueLayout, configuration: QueueConfiguration,
        options: ProcessOptions, budget: SlotBudget? = nil, standing: SlotBudget.Standing? = nil,
        reschedulesRetries: Bool = false, expectedShare: Int? = nil, logger: Logger
    ) async throws(ProtoqueueError) -> ProcessorEngine {
        // Held for the processor's lifetime so that closing the connection waits for it to stop.
        try transport.beginCall()
        let deliveries: any DeliveryTransport
        do throws(ProtoqueueError) {
            deliveries = try await transport.deliveries(for: layout)
        } catch {
            transport.endCall()
            throw error
        }
        let engine = ProcessorEngine(
            transport: transport, deliveries: deliveries, layout: layout, configuration: configuration,
            options: options, budget: budget, reschedulesRetries: reschedulesRetries, expectedShare: expectedShare,
            logger: logger
        )
        // Before its first turn: a strict tier's first probe already knows its rank.
        if let standing { budget?.setStanding(standing, for: engine.id) }
        deliveries.register(engine)
        return engine
    }

    /// The error that stopped the processor on its own (the connection closed, the consumer is gone), if any.
    var fatalError: ProtoqueueError? { fatal.value }

    /// Stops the processor with `error` (the first one is kept).
    func fail(_ error: ProtoqueueError) {
        if fatal.record(error) { logger.error("processor stops: \(error)") }
        requestStop()
    }

    /// Stops fetching: open pull requests are given up at their expiry, and ``HandOffQueue/next()`` returns `nil`.
    func requestStop() {
        state.withLock { $0.stop() }
        handOff.close()
        deliveries.touch(id)
    }

    /// Whether the processor stopped fetching.
    var isStopping: Bool { state.withLock { $0.stopping } }

    /// Waits for the open pull requests to end, returns unstarted deliveries to the server (no delay), lets the
    /// transport put every queued settlement on the wire, then unregisters. Call after every handler returned.
    func finish() async {
        requestStop()
        await fetchEnded.wait()
        // Parked first: a release moves parked deliveries to the hand-off queue under the same lock.
        let leftovers = state.withLock { $0.drainParked() } + handOff.drain()
        if !leftovers.isEmpty {
            logger.debug(
                "returning unstarted tasks to the server", metadata: ["protoqueue.count": "\(leftovers.count)"])
        }
        for delivery in leftovers { delivery.settle(.nak(delay: .zero)) }
        await deliveries.flush(for: self)
        deliveries.unregister(self)
        budget?.remove(id)
        transport.endCall()
    }

    // MARK: Transport callbacks

    /// Whether pull requests of this processor still wait for deliveries.
    var awaitsDeliveries: Bool { state.withLock { $0.ledger.outstanding > 0 } }

    /// Deliveries received so far.
    var deliveriesReceived: UInt64 { deliveryCount.load(ordering: .relaxed) }

    /// The most handlers this processor runs at once.
    var concurrency: Int { capacity }

    /// A delivery for this processor (on the transport's delivery thread).
    func delivered(_ delivery: Delivery) {
        deliveryCount.add(1, ordering: .relaxed)
        budget?.delivered(id)
        let firstParked = state.withLock { state -> Bool in
            // The server sent it before the request it answers expired, so at the latest expiry of any: a delivery
            // that came while this process was stopped is not run once its ack window ran out meanwhile.
            let servedBy = state.ledger.latestExpiry
            if servedBy > 0 { delivery.windowStarted(noLaterThan: servedBy) }
            // One for a probe sent on no slot of a shared budget, or that no open request asked for (given up after
            // its expiry), holds none: it takes one only if the budget allows, and waits parked otherwise.
            var admit = true
            if let budget, !state.ledger.nextIsBudgeted, state.admissible > 0, !state.fetchDone {
                admit = budget.allowance(for: id, footprint: slotsInUse(of: state), wanted: 1, wake: wake) == 1
            }
            let now = admit && state.admissible > 0 ? 0 : MonotonicClock.nanoseconds()
            let (arrival, expected) = state.arrived(delivery, at: now, admit: admit)
            if !expected && arrival != .refused {
                logger.debug("delivery for a pull request already given up; it takes the next free slot")
            }
            switch arrival {
            case .admitted: handOff.handOver(delivery)
            case .parked: break
            case .refused: deliveries.returnUnclaimed(delivery)  // stopped fetching
            }
            // Under the lock: reports reach the budget in the order of the changes they count.
            budget?.report(id, footprint: slotsInUse(of: state), full: state.free == 0)
            return arrival == .parked && state.parked.count == 1
        }
        // A turn soon schedules its in-progress signals; later ones are scheduled by the turns of a busy processor.
        if firstParked { deliveries.touch(id) }
        guard let budget else { return }
        // Work arrived after a probe: ask for more at once.
        if probing.exchange(false, ordering: .relaxed) {
            budget.setBusy(id, true)
            deliveries.touch(id)
        }
    }

    /// Slots held, and requested on slots of the shared budget. Parked deliveries are not counted: they came on top
    /// of what was requested (for an older request of a renewal, one given up, or a probe sent on no slot) and wait
    /// for the budget to give them one, so that its other queues may use the slot their request had taken.
    private func slotsInUse(of state: FetchState<Delivery>) -> Int {
        capacity - state.free + state.ledger.outstanding - state.ledger.unbudgeted
    }

    /// The shared budget's wake-up: a turn soon.
    private var wake: @Sendable () -> Void { { [deliveries, id] in deliveries.touch(id) } }

    /// The server ended a pull request of this processor, or sent a heartbeat (on the transport's delivery thread).
    func requestEnded(_ status: PullStatus) {
        if status.code == "100" { return }
        if let budget, !probing.exchange(true, ordering: .relaxed) { budget.setBusy(id, false) }
        state.withLock { state in
            state.requestEnded(number: status.request)
            budget?.report(id, footprint: slotsInUse(of: state))
        }
        let description = status.description
        if status.code == "503" || (status.code == "409" && description.lowercased().contains("consumer deleted")) {
            deliveries.checkConsumer(of: self, reason: "\(status.code) \(description)")
        } else if status.code == "409" {
            // Rare, and worth an operator's attention.
            logger.warning(
                "the server ended a pull request",
                metadata: ["protoqueue.status": "\(status.code)", "protoqueue.description": "\(description)"]
            )
        }
        // The next pull goes from here, saving an idle worker a wake-up of the transport's thread per expired
        // request; its turn comes later when none was sent (a wait for more free slots, a stop).
        if !turn(now: MonotonicClock.nanoseconds()).pulled { deliveries.touch(id) }
    }

    // MARK: Turns and settlements

    /// Sends a pull request when ``FetchState`` says so; signals the end of fetching once stopped. Runs on the
    /// transport's thread after settlements, or on its delivery thread after a status message: a pull sent here is
    /// still behind every acknowledgement that freed its slots, since slots are released only after their
    /// acknowledgements went out.
    /// - Returns: When the processor wants its next turn at the latest (monotonic ns), or `nil` for none, and
    ///   whether a pull request was sent.
    func turn(now: UInt64) -> (deadline: UInt64?, pulled: Bool) {
        var failed: (error: ProtoqueueError, failures: Int)?
        var sent = false
        let mean = meanRunTime.load(ordering: .relaxed)
        let ahead = prefetch.extra(concurrency: capacity, meanRunTime: mean == 0 ? nil : .nanoseconds(mean))
        var signals: (due: [Delivery], next: UInt64?) = ([], nil)
        var releaseAt: UInt64?
        let (turn, deadline) = state.withLock { state -> (FetchState<Delivery>.Turn, UInt64?) in
            if let budget, !state.stopping {
                if probing.load(ordering: .relaxed), state.ledger.outstanding > state.ledger.unbudgeted {
                    releaseAt = releaseProbeSlot(&state, budget: budget, now: now)
                }
                if !state.parked.isEmpty, state.admissible > 0 { admitParked(&state, budget: budget) }
            }
            if !state.parked.isEmpty { signals = state.parkedSignals(now: now, every: parkedSignalInterval) }
            let turn = state.turn(now: now, prefetch: ahead)
            guard var count = turn.pull else { return (turn, turn.deadline) }
            var budgeted = true
            if let budget {
                if probing.load(ordering: .relaxed) {
                    switch budget.probe(for: id, footprint: slotsInUse(of: state), wake: wake) {
                    case .budgeted: count = 1
                    case .unbudgeted: (count, budgeted) = (1, false)
                    case .refused: return (turn, state.wakeTime(at: now))
                    }
                } else {
                    count = budget.allowance(for: id, footprint: slotsInUse(of: state), wanted: count, wake: wake)
                    // None now: the budget wakes this processor when slots are released.
                    guard count > 0 else { return (turn, state.wakeTime(at: now)) }
                }
            }
            // Sent under the lock, so that no delivery for it arrives before the ledger counts it.
            if let error = deliveries.pull(for: self, count: count, expires: turn.expires, number: state.pulls + 1) {
                let (failures, retryAt) = state.pullFailed(at: now)
                failed = (error, failures)
                // The slots the budget allowed for it are free again.
                budget?.report(id, footprint: slotsInUse(of: state))
                return (turn, min(turn.deadline ?? .max, retryAt))
            }
            state.pulled(count, expires: turn.expires, at: now, budgeted: budgeted)
            if budgeted && probing.load(ordering: .relaxed) { probeSentAt.store(now, ordering: .relaxed) }
            sent = true
            budget?.report(id, footprint: slotsInUse(of: state))
            return (turn, state.wakeTime(at: now))
        }
        if turn.checkConsumer { deliveries.checkConsumer(of: self, reason: "the last look at it could not conclude") }
        if turn.fetchEnded { fetchEnded.signal() }
        if let failed { pullFailed(failed.error, failures: failed.failures) }
        // Deliveries fetched ahead stay this worker's while they wait for a handler.
        for delivery in signals.due { delivery.signalInProgress() }
        let next = [deadline, signals.next, releaseAt].compactMap { $0 }.min()
        return (next, sent)
    }

    /// A queue that ran dry lets the slot its probe took go while another queue waits for one
    /// (``SlotBudget/probeRelease(for:)``): its open requests hold none from then on.
    /// - Returns: When to look again, while the probe's grace lasts.
    private func releaseProbeSlot(_ state: inout FetchState<Delivery>, budget: SlotBudget, now: UInt64) -> UInt64? {
        let graceEnds = probeSentAt.load(ordering: .relaxed) + Self.probeGrace
        switch budget.probeRelease(for: id) {
        case .keep: return nil
        case .afterGrace where now < graceEnds: return graceEnds
        case .afterGrace, .now:
            state.unbudgetOpenRequests()
            budget.report(id, footprint: slotsInUse(of: state))
            return nil
        }
    }

    /// Gives parked deliveries the free slots the shared budget allows; the budget wakes this processor when it has
    /// more.
    private func admitParked(_ state: inout FetchState<Delivery>, budget: SlotBudget) {
        let wanted = min(state.parked.count, state.admissible)
        let allowed = budget.allowance(for: id, footprint: slotsInUse(of: state), wanted: wanted, wake: wake)
        let admitted = state.admitParked(upTo: allowed)
        if !admitted.isEmpty { handOff.handOver(admitted) }
        budget.report(id, footprint: slotsInUse(of: state), full: state.free == 0)
    }

    /// A closed connection stops the processor; anything else is logged (the first time and every 20th) and
    /// retried after a growing pause (``FetchState/pullFailed(at:)``).
    private func pullFailed(_ error: ProtoqueueError, failures: Int) {
        switch error.code {
        case .connectionClosed:
            fail(error)
        default:
            if failures == 1 || failures % 20 == 0 {
                logger.warning(
                    "fetch failed; retrying",
                    metadata: ["protoqueue.error": "\(error)", "protoqueue.failures": "\(failures)"]
                )
            }
        }
    }

    /// Adds a handler's run time to the mean that ``Prefetch/automatic`` reads.
    func noteRunTime(_ runTime: Duration) {
        let sample = UInt64(max(1, runTime.nanoseconds))
        let mean = meanRunTime.load(ordering: .relaxed)
        // Updates racing from several handlers may drop a sample; the mean only steers prefetching.
        meanRunTime.store(mean == 0 ? sample : mean - mean / 16 + sample / 16, ordering: .relaxed)
    }

    /// Whether a transport that writes acknowledgements in runs releases this processor's slots only once they
    /// were written (``release(_:awaitingWrite:)``): with tasks fetched ahead, a freed slot would otherwise go to
    /// one of them before the server has the acknowledgement that freed it.
    var releasesAfterWrite: Bool { prefetch != .none }

    /// Returns `count` slots; parked deliveries take them first. With `awaitingWrite`, only pull requests may count
    /// them until ``written(_:)`` says that the acknowledgements that freed them were written.
    func release(_ count: Int, awaitingWrite: Bool = false) {
        state.withLock { state in
            // A parked delivery takes the slot a handler of its own queue freed: the budget's count does not change.
            let unparked = state.release(count, awaitingWrite: awaitingWrite)
            if !unparked.isEmpty { handOff.handOver(unparked) }
            budget?.report(id, footprint: slotsInUse(of: state))
        }
    }

    /// The acknowledgements that freed `count` slots released with `awaitingWrite` were written: deliveries may
    /// take them.
    func written(_ count: Int) {
        state.withLock { state in
            let unparked = state.written(count)
            if !unparked.isEmpty { handOff.handOver(unparked) }
        }
    }
}
