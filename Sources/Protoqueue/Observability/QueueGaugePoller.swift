public import CoreMetrics
public import Logging
public import ServiceLifecycle

/// Reads a queue's state from the server at an interval and records it as swift-metrics gauges: what a dashboard
/// needs to show how deep a queue is, whichever process does the work.
///
/// ## Overview
/// ```swift
/// let poller = QueueGaugePoller(queue: emails, interval: .seconds(15), logger: logger)
/// try await ServiceGroup(services: [connection, worker, poller], logger: logger).run()
/// ```
/// Each poll is one ``Queue/stats()`` call (four JetStream API requests). A poll that fails is logged and the gauges
/// keep their last values until the next one succeeds. Dimensions: `queue` and `task_type`.
public struct QueueGaugePoller: Service {
    /// The gauge names.
    public struct Names: Sendable, Hashable {
        /// Tasks stored in the work stream.
        public var messages = "protoqueue.queue.messages"
        /// Tasks never delivered yet.
        public var pending = "protoqueue.queue.pending"
        /// Tasks delivered and not settled (running, or waiting for a retry delay of at most a second).
        public var ackPending = "protoqueue.queue.ack_pending"
        /// Delayed tasks and tasks waiting for a longer retry delay, on the scheduled-task consumer.
        public var scheduled = "protoqueue.queue.scheduled"
        /// 1 while tasks wait undelivered because the consumer's ack-pending limit is reached, else 0.
        public var ackPendingLimitReached = "protoqueue.queue.ack_pending_limit_reached"
        /// Unsettled tasks delivered more than once.
        public var redelivered = "protoqueue.queue.redelivered"
        /// Records in the dead-letter stream.
        public var deadLetters = "protoqueue.queue.dead_letters"

        /// The default names.
        public init() {}
    }

    private let read: @Sendable () async throws(ProtoqueueError) -> QueueStats
    private let gauges: [(Gauge, @Sendable (QueueStats) -> Int64)]
    private let interval: Duration
    private let logger: Logger

    /// Creates a poller for `queue`.
    /// - Parameters:
    ///   - queue: The queue to watch.
    ///   - interval: Time between polls (at least 100 ms; default 15 s).
    ///   - names: The gauge names.
    ///   - factory: Where the gauges go; by default the bootstrapped `MetricsSystem`.
    ///   - logger: Where failed polls are logged.
    public init<Message>(
        queue: Queue<Message>, interval: Duration = .seconds(15), names: Names = Names(),
        factory: (any MetricsFactory)? = nil, logger: Logger
    ) {
        let factory = factory ?? MetricsSystem.factory
        let dimensions = [("queue", queue.name), ("task_type", Message.protoMessageName)]
        func gauge(
            _ label: String, _ value: @escaping @Sendable (QueueStats) -> Int64
        ) -> (Gauge, @Sendable (QueueStats) -> Int64) {
            (Gauge(label: label, dimensions: dimensions, factory: factory), value)
        }
        gauges = [
            gauge(names.messages) { Int64(clamping: $0.messages) },
            gauge(names.pending) { Int64(clamping: $0.pending) },
            gauge(names.ackPending) { $0.ackPending },
            gauge(names.redelivered) { $0.redelivered },
            gauge(names.deadLetters) { Int64(clamping: $0.deadLetters) },
            gauge(names.scheduled) { Int64(clamping: $0.scheduled) },
            gauge(names.ackPendingLimitReached) { $0.isAckPendingLimitReached ? 1 : 0 },
        ]
        read = { () async throws(ProtoqueueError) -> QueueStats in try await queue.stats() }
        self.interval = max(interval, .milliseconds(100))
        self.logger = logger
    }

    /// Polls until graceful shutdown or cancellation.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await poll()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Reads the queue's state once and records it.
    func poll() async {
        do throws(ProtoqueueError) {
            let stats = try await read()
            for (gauge, value) in gauges { gauge.record(value(stats)) }
        } catch {
            logger.warning("cannot read the queue's state for its gauges", metadata: ["protoqueue.error": "\(error)"])
        }
    }
}
