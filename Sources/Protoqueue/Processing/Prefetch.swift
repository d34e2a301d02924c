/// How many tasks a worker fetches ahead of its handlers (``ProcessOptions/prefetch``): tasks that wait in the
/// worker for a handler to free, so that a handler that finishes finds its next task already there instead of
/// waiting for a round trip to the server.
///
/// Waiting tasks hold their place in the consumer's `maxAckPending` like running ones, and the worker keeps them
/// alive with in-progress signals (`+WPI`) so that the server does not deliver them elsewhere while they wait.
/// Tasks a stopping worker never started go back to the server at once.
///
/// A waiting task takes a freed handler slot only once the acknowledgement that freed it was written to the server,
/// so a worker killed or stopped past the ack wait repeats at most `concurrency` tasks elsewhere, as without
/// prefetch.
public struct Prefetch: Sendable, Hashable, CustomStringConvertible {
    enum Mode: Hashable {
        case automatic
        case fixed(Int)
    }

    let mode: Mode

    /// About ``automaticLead`` of the handlers' work ahead: `concurrency × automaticLead / mean run time` tasks, at
    /// most 4 × `concurrency`, from the handlers' mean run time (with any wait for the rate limit) over about the
    /// last 16 (none before the first finished). The default. A task fetched ahead thus waits about
    /// ``automaticLead`` at most for a handler: short tasks flow without pauses, and long ones are not held back in a
    /// busy worker while another is free.
    public static let automatic = Prefetch(mode: .automatic)

    /// No task ahead: the worker fetches only for free handlers.
    public static let none = Prefetch(mode: .fixed(0))

    /// Up to `count` tasks ahead, whatever the handlers' run time.
    /// - Parameter count: 0 to 100,000 (processing refuses others with
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/invalidConfiguration``).
    /// - Returns: The prefetch.
    public static func tasks(_ count: Int) -> Prefetch { Prefetch(mode: .fixed(count)) }

    /// How much of the handlers' work ``automatic`` fetches ahead.
    public static let automaticLead: Duration = .milliseconds(20)

    /// `automatic`, `none` or `tasks(n)`.
    public var description: String {
        switch mode {
        case .automatic: "automatic"
        case .fixed(0): "none"
        case .fixed(let count): "tasks(\(count))"
        }
    }

    /// Throws ``ProtoqueueCodec/ProtoqueueError/Code/invalidConfiguration`` for a count out of range.
    func validate() throws(ProtoqueueError) {
        guard case .fixed(let count) = mode, count < 0 || count > 100_000 else { return }
        throw ProtoqueueError(.invalidConfiguration, "prefetch must be 0 to 100,000 tasks, not \(count)")
    }

    /// The tasks to fetch ahead now, for a worker of `concurrency` handlers whose handlers ran for `meanRunTime` on
    /// average (`nil` before the first finished). Pure.
    func extra(concurrency: Int, meanRunTime: Duration?) -> Int {
        switch mode {
        case .fixed(let count):
            return count
        case .automatic:
            guard let meanRunTime, meanRunTime > .zero else { return 0 }
            let ahead = Double(concurrency) * (Self.automaticLead / meanRunTime)
            return Int(min(Double(4 * concurrency), ahead))
        }
    }
}
