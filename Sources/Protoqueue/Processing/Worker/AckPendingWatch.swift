import Logging

/// Notices when a worker with free slots gets no deliveries because its consumer's ack-pending limit
/// (`QueueConfiguration.Consumer.maxAckPending`, over all workers of the queue) is reached while tasks wait, and
/// logs it once per episode: a warning when it starts, a notice when deliveries flow again.
///
/// It reads the consumer only after an interval in which this worker had a free slot and received nothing, so a busy
/// worker makes no request for it (``nextInterval(after:blocked:flowing:)``): the first look comes after
/// ``firstInterval``, a look that finds deliveries flowing comes back after ``afterDeliveries`` (a stall that
/// follows is noticed within two of those), and while the consumer is merely idle the wait doubles up to
/// ``longestInterval``: a consumer-info request is the costliest thing an idle worker does.
struct AckPendingWatch: Sendable {
    /// The wait before the first look, and while the limit is found reached.
    static let firstInterval: Duration = .seconds(30)
    /// The wait after a look that found new deliveries.
    static let afterDeliveries: Duration = .seconds(5)
    /// The longest wait, reached after the consumer was found idle a few times in a row.
    static let longestInterval: Duration = .seconds(300)

    /// The wait after one of `interval`.
    static func nextInterval(after interval: Duration, blocked: Bool, flowing: Bool) -> Duration {
        if flowing { return afterDeliveries }
        if blocked { return firstInterval }
        return min(interval * 2, longestInterval)
    }

    let engine: ProcessorEngine
    let running: RunningHandlers
    let read: @Sendable () async throws(ProtoqueueError) -> ConsumerState
    let logger: Logger

    /// Whether tasks wait undelivered because the ack-pending limit (0 or less: unlimited) is reached.
    static func isBlocked(pending: UInt64, ackPending: Int64, maxAckPending: Int64) -> Bool {
        maxAckPending > 0 && ackPending >= maxAckPending && pending > 0
    }

    /// Looks until cancelled.
    func run() async {
        var seen = engine.deliveriesReceived
        var reported = false
        var interval = Self.firstInterval
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            let received = engine.deliveriesReceived
            let flowing = received != seen
            seen = received
            guard !flowing, running.count < engine.concurrency, let state = try? await read() else {
                if flowing && reported {
                    logger.notice("deliveries flow again; the consumer's ack-pending limit is no longer reached")
                    reported = false
                }
                interval = Self.nextInterval(after: interval, blocked: reported, flowing: flowing)
                continue
            }
            let blocked = Self.isBlocked(
                pending: state.pending, ackPending: state.ackPending, maxAckPending: state.maxAckPending)
            if blocked && !reported {
                logger.warning(
                    """
                    no deliveries: the consumer's ack-pending limit is reached while tasks wait; tasks delivered \
                    and unacknowledged (on any worker, or returned with a short retry delay) hold every slot
                    """,
                    metadata: [
                        "protoqueue.ack_pending": "\(state.ackPending)",
                        "protoqueue.max_ack_pending": "\(state.maxAckPending)",
                        "protoqueue.pending": "\(state.pending)",
                        "protoqueue.running": "\(running.count)",
                    ])
            } else if !blocked && reported {
                logger.notice("the consumer's ack-pending limit is no longer reached")
            }
            reported = blocked
            interval = Self.nextInterval(after: interval, blocked: blocked, flowing: false)
        }
    }
}
