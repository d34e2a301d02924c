/// When the processing hub's thread must treat itself as having been stopped (the process got `SIGSTOP`, or the
/// machine starved it): it woke well after the deadline it waited for, or its last run took that long. Deliveries the
/// server sent meanwhile may already be past their ack window; a pull request sent before they are read would make
/// them look fresh (``ProcessorEngine`` dates a delivery by the pull requests sent), so the thread first reads what
/// the server sent before it resumed. `HubStallTests` covers the rule.
enum HubStall {
    /// How late counts as stopped: far above a scheduling delay, far below any ack wait.
    static let threshold: UInt64 = 100_000_000

    /// Whether the thread was stopped, given the deadline it waited for (`nil`: it waited for work only), when it
    /// woke, and how long its previous run took (monotonic ns).
    static func stopped(deadline: UInt64?, woke: UInt64, previousRun: UInt64) -> Bool {
        if previousRun > threshold { return true }
        guard let deadline, woke > deadline else { return false }
        return woke - deadline > threshold
    }
}
