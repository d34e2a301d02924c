import Logging
import Synchronization

/// Fires the ticks of a queue's declared schedules; every worker of the queue runs one.
///
/// Each tick's task is published with the id `<name>@<tick>` by every runner that sees the tick on time (at most
/// the lateness bound after it, which is at most half the duplicate window), so the server stores it once however
/// many runners publish it, and at least one does while any runs. The schedule's record then advances to the tick
/// by a conditional write. Ticks later than the bound (every worker or the server was down) follow the schedule's
/// ``TaskSchedule/MissedTicks``: the runner whose conditional write claims them enqueues the one catch-up task of
/// ``TaskSchedule/MissedTicks/runOnce``, and the runners that lose send it again while the claim is fresh, in case
/// the winner died in between.
struct ScheduleRunner: Sendable {
    let transport: any QueueTransport
    let layout: QueueLayout
    /// How late a tick may be enqueued, ms: 60 s, or half the duplicate window when that is shorter.
    let latenessBound: Int64
    let logger: Logger
    /// The longest a schedule's runner sleeps before reading its record again.
    static let refreshInterval: Duration = .seconds(10)
    /// How often the runner lists the declared schedules: a declaration made in another process is found within
    /// it; one made in this process wakes the runner at once (``ScheduleWakers``).
    static let discoveryInterval: Duration = .seconds(60)

    init(transport: any QueueTransport, layout: QueueLayout, duplicateWindow: Duration, logger: Logger) {
        self.transport = transport
        self.layout = layout
        latenessBound = min(60_000, duplicateWindow.milliseconds / 2)
        self.logger = logger
    }

    /// Runs until cancelled: one child task per declared schedule, started when the periodic listing finds its
    /// record (or a declaration in this process wakes the runner) and ended when it is removed. Idle, it costs one
    /// listing (a stream-info request) every ``discoveryInterval``.
    func run() async {
        let active = ActiveNames()
        let declared = WakeSignal()
        let registration = ScheduleWakers.shared.register(declared, for: layout)
        defer { ScheduleWakers.shared.unregister(registration) }
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                for name in await declaredNames() where active.insert(name) {
                    group.addTask {
                        await runSchedule(name)
                        active.remove(name)
                    }
                }
                await declared.wait(timeout: Self.discoveryInterval)
            }
            group.cancelAll()
        }
    }

    private var store: ScheduleStore { ScheduleStore(transport: transport, layout: layout) }

    /// The names of the schedules declared on the queue (none when they cannot be read now).
    private func declaredNames() async -> [String] {
        do throws(ProtoqueueError) {
            return try await store.names()
        } catch {
            logger.debug("cannot list the queue's schedules", metadata: ["protoqueue.error": "\(error)"])
            return []
        }
    }

    /// Fires one schedule's ticks until it is removed or the runner is cancelled.
    private func runSchedule(_ name: String) async {
        var reported = false
        while !Task.isCancelled {
            let record: ScheduleRecord
            do throws(ProtoqueueError) {
                guard let current = try await store.record(name) else { return }
                record = current
                reported = false
            } catch {
                if !reported {
                    logger.warning(
                        "cannot read a schedule; retrying",
                        metadata: ["protoqueue.schedule": "\(name)", "protoqueue.error": "\(error)"])
                    reported = true
                }
                try? await Task.sleep(for: error.code == .invalidHeader ? Self.refreshInterval : .seconds(1))
                continue
            }
            let now = transport.scheduleClockMilliseconds()
            switch TickPlan.next(
                timing: record.schedule.timing, lastTick: record.lastTick, now: now, latenessBound: latenessBound)
            {
            case .finished:
                return
            case .wait(let tick):
                try? await Task.sleep(for: min(.milliseconds(tick - now), Self.refreshInterval))
            case .fire(let tick):
                await fire(record, tick: tick)
            case .missed(let latest, let count):
                await catchUp(record, latest: latest, count: count)
            }
        }
    }

    /// Enqueues the task of an on-time `tick` (unless an earlier one is unfinished and the schedule skips overlaps),
    /// then records the tick.
    private func fire(_ record: ScheduleRecord, tick: Int64) async {
        guard await enqueue(record, tick: tick, requireOnTime: true) else { return }
        _ = await advance(record, to: tick, catchUp: nil)
    }

    /// Handles the missed ticks up to `latest`: records them as handled, and for ``TaskSchedule/MissedTicks/runOnce``
    /// enqueues one task for them.
    private func catchUp(_ record: ScheduleRecord, latest: Int64, count: Int) async {
        // A plan that stopped counting at its limit is not the last: only the last one's tick stands for them all.
        let runOnce = record.schedule.missedTicks == .runOnce && count < TickPlan.countLimit
        let metadata: Logger.Metadata = [
            "protoqueue.schedule": "\(record.schedule.name)", "protoqueue.missed_ticks": "\(count)",
        ]
        switch await advance(record, to: latest, catchUp: runOnce ? latest : nil) {
        case .won:
            logger.notice(
                runOnce ? "missed ticks; enqueueing one task for them" : "missed ticks skipped", metadata: metadata)
            if runOnce { _ = await enqueue(record, tick: latest, requireOnTime: false) }
        case .lost:
            await resendCatchUp(record.schedule.name)
        case .failed:
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Sends the catch-up task another runner claimed again while its claim is fresh: stored once, and stored even
    /// if that runner died before sending it.
    private func resendCatchUp(_ name: String) async {
        guard let current = try? await store.record(name), let tick = current.catchUp,
            transport.scheduleClockMilliseconds() - current.updatedAt <= latenessBound
        else { return }
        _ = await enqueue(current, tick: tick, requireOnTime: false)
    }

    /// Publishes the task of `tick`; `false` when it was not sent because the server could not be reached (the
    /// caller reads the record again and retries while the tick is on time).
    private func enqueue(_ record: ScheduleRecord, tick: Int64, requireOnTime: Bool) async -> Bool {
        let name = record.schedule.name
        if record.schedule.overlap == .skip {
            do throws(ProtoqueueError) {
                let waiting = try await transport.subjectCounts(
                    stream: layout.streamName, filter: layout.scheduleTaskFilter(name), operation: "read schedule tasks"
                )
                if !waiting.isEmpty {
                    logger.info(
                        "tick skipped: an earlier task of the schedule is unfinished",
                        metadata: [
                            "protoqueue.schedule": "\(name)", "protoqueue.task_id": "\(record.taskID(tick: tick))",
                        ])
                    return true
                }
            } catch {
                return await failed(name, error)
            }
        }
        let now = transport.scheduleClockMilliseconds()
        // Published only while on time, so that every send of the id falls inside the duplicate window.
        if requireOnTime, now - tick > latenessBound { return false }
        do throws(ProtoqueueError) {
            let receipt = try await transport.publish(record.task(tick: tick, now: now, layout: layout), maxAttempts: 1)
            if !receipt.duplicate {
                logger.debug("tick enqueued", metadata: ["protoqueue.task_id": "\(receipt.id)"])
            }
            return true
        } catch {
            return await failed(name, error)
        }
    }

    /// Logs a failed call and pauses before the caller tries again.
    private func failed(_ name: String, _ error: ProtoqueueError) async -> Bool {
        logger.debug(
            "cannot enqueue a tick now", metadata: ["protoqueue.schedule": "\(name)", "protoqueue.error": "\(error)"])
        try? await Task.sleep(for: .milliseconds(250))
        return false
    }

    /// What a conditional write of a schedule record did.
    enum Advance {
        /// It is the record now.
        case won
        /// Another writer changed the record first.
        case lost
        /// The server could not be reached or refused it otherwise.
        case failed
    }

    /// Writes `record` with its last tick at `tick` (and its catch-up claim), on condition that it is still the
    /// subject's last message; removes the replaced message once the new one is stored.
    private func advance(_ record: ScheduleRecord, to tick: Int64, catchUp: Int64?) async -> Advance {
        var next = record
        next.lastTick = tick
        next.catchUp = catchUp
        next.updatedAt = transport.scheduleClockMilliseconds()
        let name = record.schedule.name
        do throws(ProtoqueueError) {
            try await store.replace(record, with: next)
            return .won
        } catch  where error.code == .conflict {
            return .lost
        } catch {
            _ = await failed(name, error)
            return .failed
        }
    }
}

/// The schedules a runner fires now.
private final class ActiveNames: Sendable {
    private let names = Mutex<Set<String>>([])

    /// Adds `name`; `false` when it is there already.
    func insert(_ name: String) -> Bool { names.withLock { $0.insert(name).inserted } }
    func remove(_ name: String) { names.withLock { _ = $0.remove(name) } }
}

/// The schedule runners of this process by queue, so that a declaration wakes those of its queue at once.
final class ScheduleWakers: Sendable {
    /// The process's registry.
    static let shared = ScheduleWakers()

    private let runners = Mutex<[UInt64: (queue: String, signal: WakeSignal)]>([:])
    private let nextID = Atomic<UInt64>(0)

    /// A queue's identity across connections: its stream and subject.
    private static func key(_ layout: QueueLayout) -> String { "\(layout.streamName) \(layout.subject)" }

    /// Adds a runner's signal for `layout`'s queue; returns the registration to remove.
    func register(_ signal: WakeSignal, for layout: QueueLayout) -> UInt64 {
        let id = nextID.add(1, ordering: .relaxed).newValue
        runners.withLock { $0[id] = (Self.key(layout), signal) }
        return id
    }

    func unregister(_ id: UInt64) { _ = runners.withLock { $0.removeValue(forKey: id) } }

    /// Wakes the runners of `layout`'s queue.
    func wake(_ layout: QueueLayout) {
        let key = Self.key(layout)
        for runner in runners.withLock({ Array($0.values) }) where runner.queue == key { runner.signal.signal() }
    }
}
