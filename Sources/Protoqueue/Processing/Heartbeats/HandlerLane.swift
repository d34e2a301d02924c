import Synchronization

/// The task one handler task runs, where its ``HeartbeatMonitor`` looks. Only the handler task and the monitor touch
/// it, so taking and clearing a task costs two uncontended locks.
final class HandlerLane: Sendable {
    private let entry = Mutex<HeartbeatMonitor.Entry?>(nil)
    private let monitor: HeartbeatMonitor

    init(monitor: HeartbeatMonitor) {
        self.monitor = monitor
    }

    /// Watches `delivery` until ``clear()``: it gets heartbeats from now on.
    func watch(_ delivery: Delivery, id: TaskID?, attempt: Int, sequence: UInt64, deliveries: UInt64) {
        let window = delivery.engine.ackWindow(deliveries: deliveries)
        let watched = HeartbeatMonitor.Entry(
            delivery: delivery, id: id, attempt: attempt, sequence: sequence,
            heartbeatAfter: UInt64(max(1, AckWindow.heartbeatInterval(window: window).nanoseconds)))
        let wakeUp = entry.withLock { entry -> Bool in
            entry = watched
            return monitor.sleeping.load(ordering: .relaxed)
        }
        if wakeUp { monitor.taskArrived() }
    }

    /// The handler starts now with `timeout`: its heartbeats stop when it expires.
    func started(timeout: Duration) {
        let now = MonotonicClock.nanoseconds()
        entry.withLock { $0?.limit = (now, timeout) }
    }

    /// Stops watching the task (its settlement is on its way).
    func clear() {
        entry.withLock { $0 = nil }
    }

    /// Whether the lane holds a task.
    var isBusy: Bool { entry.withLock { $0 != nil } }

    /// Runs `body` on the task the lane holds, if any.
    func inspect(_ body: (inout HeartbeatMonitor.Entry) -> Void) {
        entry.withLock { entry in
            guard var current = entry else { return }
            body(&current)
            entry = current
        }
    }
}
