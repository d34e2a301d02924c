import Synchronization

/// Keeps one processor's running tasks from going to another worker, and notices handlers that ignore their
/// timeout.
///
/// Each running task gets a heartbeat (`+WPI`) once ``AckWindow/heartbeatInterval(window:)`` has passed since its
/// delivery or its last signal, until its timeout expires; a handler still running ``stuckGrace`` after its timeout
/// cancelled it is reported once (``StuckHandler``). Each handler task holds its running task in a ``HandlerLane``;
/// one task per processor looks at the lanes every ``AckWindow/checkInterval(shortest:)`` while one holds a task, and
/// waits for one otherwise.
final class HeartbeatMonitor: Sendable {
    /// How long after its timeout a handler that has not returned is reported as stuck.
    static let stuckGrace: Duration = .seconds(1)

    /// What the monitor does with one running task at a look.
    enum Action: Equatable {
        case none
        case heartbeat
        case reportStuck
    }

    /// The decision for one running task at `now` (monotonic ns): `sinceSignal` ns since its window restarted,
    /// `heartbeatAfter` ns its heartbeat interval, `stopAt` when its timeout expires (`nil`: none) and whether it was
    /// reported already.
    static func action(
        now: UInt64, sinceSignal: UInt64, heartbeatAfter: UInt64, stopAt: UInt64?, reported: Bool
    ) -> Action {
        if let stopAt, now >= stopAt {
            let grace = UInt64(stuckGrace.nanoseconds)
            return !reported && now - stopAt >= grace ? .reportStuck : .none
        }
        return sinceSignal >= heartbeatAfter ? .heartbeat : .none
    }

    /// One running task, as its lane holds it.
    struct Entry {
        let delivery: Delivery
        let id: TaskID?
        let attempt: Int
        let sequence: UInt64
        let heartbeatAfter: UInt64
        /// When the handler started (monotonic ns) and its timeout; `nil` without a timeout.
        var limit: (startedAt: UInt64, timeout: Duration)?
        var reported = false
        /// When the timeout expires (monotonic ns).
        var stopAt: UInt64? { limit.map { $0.startedAt &+ UInt64(max(0, $0.timeout.nanoseconds)) } }
    }

    private let lanes = Mutex<[ObjectIdentifier: HandlerLane]>([:])
    /// The monitor waits for a task to watch: the lane that gets one wakes it.
    let sleeping = Atomic<Bool>(false)
    private let wake = WakeSignal()
    private let interval: Duration
    private let queue: String
    private let taskType: String
    private let report: @Sendable (StuckHandler) -> Void

    /// - Parameters:
    ///   - engine: The processor whose tasks it watches (for the consumer's ack windows).
    ///   - queue: The queue's name, for reports.
    ///   - taskType: The queue's message type, for reports.
    ///   - report: Called (on the monitor's task) for each handler found stuck.
    init(engine: ProcessorEngine, queue: String, taskType: String, report: @escaping @Sendable (StuckHandler) -> Void) {
        self.interval = AckWindow.checkInterval(shortest: .nanoseconds(engine.shortestAckWindow))
        self.queue = queue
        self.taskType = taskType
        self.report = report
    }

    /// A lane for one handler task, watched until ``close(_:)``.
    func open() -> HandlerLane {
        let lane = HandlerLane(monitor: self)
        lanes.withLock { $0[ObjectIdentifier(lane)] = lane }
        return lane
    }

    /// Stops watching `lane`: its handler task ended.
    func close(_ lane: HandlerLane) {
        _ = lanes.withLock { $0.removeValue(forKey: ObjectIdentifier(lane)) }
    }

    /// Wakes the monitor when it waits for a task (called by a lane that took one while it read `sleeping` true).
    func taskArrived() {
        if sleeping.compareExchange(expected: true, desired: false, ordering: .relaxed).exchanged { wake.signal() }
    }

    /// Looks at the running tasks until cancelled; waits without looking while none runs. A wake-up is followed by a
    /// full interval before the next look, so a stream of short tasks wakes the monitor at most once per interval.
    func run() async {
        while !Task.isCancelled {
            // Set before the lanes are read: a lane that takes a task after its read sees it under its lock.
            sleeping.store(true, ordering: .relaxed)
            if self.lanes.withLock({ $0.values.allSatisfy { !$0.isBusy } }) {
                await wake.wait(timeout: .seconds(3600))
            }
            sleeping.store(false, ordering: .relaxed)
            try? await Task.sleep(for: interval)
            look(lanes: self.lanes.withLock { Array($0.values) }, now: MonotonicClock.nanoseconds())
        }
    }

    /// Sends the heartbeats that are due and reports handlers newly found stuck.
    private func look(lanes: [HandlerLane], now: UInt64) {
        var due: [Delivery] = []
        var stuck: [Entry] = []
        for lane in lanes {
            lane.inspect { entry in
                let action = Self.action(
                    now: now, sinceSignal: entry.delivery.sinceWindowStart(now: now),
                    heartbeatAfter: entry.heartbeatAfter, stopAt: entry.stopAt, reported: entry.reported)
                switch action {
                case .none: break
                case .heartbeat: due.append(entry.delivery)
                case .reportStuck:
                    entry.reported = true
                    stuck.append(entry)
                }
            }
        }
        for delivery in due { delivery.signalInProgress() }
        for entry in stuck {
            guard let limit = entry.limit else { continue }
            report(
                StuckHandler(
                    queue: queue, taskType: taskType, id: entry.id, attempt: entry.attempt, sequence: entry.sequence,
                    timeout: limit.timeout, runningFor: .nanoseconds(Int64(clamping: now &- limit.startedAt))))
        }
    }
}
