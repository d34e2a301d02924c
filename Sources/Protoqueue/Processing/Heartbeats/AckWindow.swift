/// How long the server waits for a delivery's settlement before it delivers the task again, and how often a worker
/// tells it that a running task is still in progress, as pure functions. `AckWindowTests` covers the table.
///
/// The window restarts at each `+WPI`. A worker sends one once a third of the window has passed since the delivery
/// or the last one: every window then holds at least two chances to send, so one signal delayed by a reconnect or
/// a busy connection does not let the task go to another worker.
enum AckWindow {
    /// The share of the window after which a running task gets a heartbeat.
    static let heartbeatFraction = 3
    /// The monitor looks at running tasks twice per heartbeat interval, so that a heartbeat goes out between a third
    /// and a half of the window after the last one.
    static let checksPerHeartbeat = 2
    /// The shortest pause between two looks of the monitor.
    static let shortestCheck: Duration = .milliseconds(20)

    /// The server's wait for delivery number `deliveries` (from 1): with a backoff, its step for that delivery (the
    /// last step repeats), else the ack wait.
    static func length(ackWait: Duration, backoff: [Duration], deliveries: UInt64) -> Duration {
        guard let last = backoff.last else { return ackWait }
        let index = Int(clamping: max(1, deliveries) - 1)
        return index < backoff.count ? backoff[index] : last
    }

    /// The shortest window any delivery of the consumer gets.
    static func shortest(ackWait: Duration, backoff: [Duration]) -> Duration {
        backoff.min() ?? ackWait
    }

    /// How long after the last signal a running task gets a heartbeat.
    static func heartbeatInterval(window: Duration) -> Duration {
        window / heartbeatFraction
    }

    /// How often the monitor looks at running tasks of a consumer whose shortest window is `shortest`.
    static func checkInterval(shortest: Duration) -> Duration {
        max(shortestCheck, heartbeatInterval(window: shortest) / checksPerHeartbeat)
    }

    /// Whether a signal or settlement at `elapsed` since the window started comes too late: the window of `window`
    /// ran out and the server may have delivered the task again.
    static func isMissed(elapsed: Duration, window: Duration) -> Bool {
        elapsed > window
    }
}
