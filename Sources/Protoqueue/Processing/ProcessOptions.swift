/// How one worker runs a queue's handler.
///
/// ## Overview
/// ```swift
/// try await queue.process(options: .init(concurrency: 16, shutdownTimeout: .seconds(30))) { task, context in
///     .success
/// }
/// ```
public struct ProcessOptions: Sendable, Hashable {
    /// Handlers running at once. The worker holds (fetched and not yet acknowledged) at most this many tasks plus
    /// those it fetched ahead (``prefetch``).
    public var concurrency: Int
    /// Tasks fetched ahead of the handlers, waiting in the worker for one to free (``Prefetch``). Applies to a queue
    /// processed on its own; processors that share a budget (``QueueWorker``, priority tiers) fetch for free
    /// handlers only.
    public var prefetch: Prefetch
    /// About how long one pull request waits for tasks: each expires on the next multiple of it that is at least
    /// half of it away (0.5 to 1.5 times it), so idle workers renew their requests together. Stopping waits for the
    /// open requests to end.
    public var fetchTimeout: Duration
    /// On graceful shutdown, how long running handlers may take before they are cancelled.
    public var shutdownTimeout: Duration
    /// Whether each acknowledgement waits for the server's confirmation.
    public var ackMode: AckMode
    /// Whether the worker stops on its own once the queue is idle: no task waits to be delivered and none is
    /// delivered and unsettled (running on any worker, or waiting for its retry delay). For batch jobs and tests.
    /// Idleness is checked at about every ``fetchTimeout`` while no handler of this worker runs. A ``QueueWorker``
    /// stops once all its queues are idle at the same check, so tasks that one queue's handlers enqueue to another
    /// are served too.
    public var stopWhenIdle: Bool
    /// Whether the worker fires the ticks of the queue's declared schedules
    /// (``Queue/declareSchedule(_:task:metadata:)``) while it runs. Any number of workers may: each tick's task is
    /// stored once.
    public var firesSchedules: Bool
    /// The most handlers this worker starts per second for the queue (a token bucket); `nil` for no limit.
    public var rateLimit: RateLimit?
    /// How often the worker looks for stranded tasks: stored tasks the server will not deliver because a crash left
    /// the queue's consumer past them (`docs/processing.md`, *Stranded tasks*). One seen at two looks in a row is
    /// recovered by creating the consumer again. `nil` turns the looks off.
    public var strandedTaskCheck: Duration?

    /// Creates options.
    /// - Parameters:
    ///   - concurrency: Handlers at once (at least 1; default 8).
    ///   - fetchTimeout: Pull request wait, 0.5 to 1.5 times this (default 500 ms, at least 10 ms).
    ///   - shutdownTimeout: Grace for running handlers on graceful shutdown (default 10 s).
    ///   - ackMode: ``AckMode/fireAndForget`` (default) or ``AckMode/confirmed``.
    ///   - stopWhenIdle: Return once the queue is idle (default `false`: run until stopped).
    ///   - firesSchedules: Fire the queue's schedules (default `true`).
    ///   - rateLimit: Handler starts per second at most (default `nil`: no limit).
    ///   - prefetch: Tasks fetched ahead of the handlers (default ``Prefetch/automatic``).
    ///   - strandedTaskCheck: How often to look for stranded tasks (default 30 s, at least 100 ms; `nil`: never).
    public init(
        concurrency: Int = 8,
        fetchTimeout: Duration = .milliseconds(500),
        shutdownTimeout: Duration = .seconds(10),
        ackMode: AckMode = .fireAndForget,
        stopWhenIdle: Bool = false,
        firesSchedules: Bool = true,
        rateLimit: RateLimit? = nil,
        prefetch: Prefetch = .automatic,
        strandedTaskCheck: Duration? = .seconds(30)
    ) {
        self.strandedTaskCheck = strandedTaskCheck
        self.rateLimit = rateLimit
        self.prefetch = prefetch
        self.concurrency = concurrency
        self.fetchTimeout = fetchTimeout
        self.shutdownTimeout = shutdownTimeout
        self.ackMode = ackMode
        self.stopWhenIdle = stopWhenIdle
        self.firesSchedules = firesSchedules
    }

    /// How a successful task is acknowledged.
    public struct AckMode: Sendable, Hashable, CustomStringConvertible {
        let confirmed: Bool
        /// `+ACK` without waiting (the default). An ack lost in a disconnect means the task runs again after the
        /// ack wait: at-least-once, as always.
        public static let fireAndForget = AckMode(confirmed: false)
        /// `+ACK` as a request the server confirms (what nats.c's `natsMsg_AckSync` sends): once confirmed the task
        /// is never redelivered. Costs one round trip per task on the worker's acknowledgement thread.
        public static let confirmed = AckMode(confirmed: true)
        /// `fireAndForget` or `confirmed`.
        public var description: String { confirmed ? "confirmed" : "fireAndForget" }
    }

    func validated() throws(ProtoqueueError) -> ProcessOptions {
        guard concurrency >= 1 else {
            throw ProtoqueueError(.invalidConfiguration, "concurrency must be at least 1, not \(concurrency)")
        }
        guard concurrency <= 100_000 else {
            throw ProtoqueueError(.invalidConfiguration, "concurrency \(concurrency) is too large (at most 100,000)")
        }
        guard fetchTimeout >= .milliseconds(10) else {
            throw ProtoqueueError(.invalidConfiguration, "fetchTimeout must be at least 10 ms")
        }
        guard shutdownTimeout >= .zero else {
            throw ProtoqueueError(.invalidConfiguration, "shutdownTimeout must not be negative")
        }
        if let strandedTaskCheck, strandedTaskCheck < .milliseconds(100) {
            throw ProtoqueueError(
                .invalidConfiguration, "strandedTaskCheck must be at least 100 ms, not \(strandedTaskCheck)")
        }
        _ = try rateLimit?.validated()
        try prefetch.validate()
        return self
    }
}
