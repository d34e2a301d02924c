/// The settings of one of a queue's durable pull consumers, derived from its layout and configuration: what
/// provisioning creates and verifies on a server, and what the in-memory transport models.
///
/// The workers' consumer follows ``QueueConfiguration/consumer``. The scheduled-task consumer holds every waiting
/// task in its ack-pending set (``ScheduleDecision``) and redelivers each as often as it is returned, so neither is
/// limited.
struct ConsumerSettings: Sendable, Equatable {
    var ackWait: Duration
    var backoff: [Duration]
    /// `MaxDeliver`: the attempts plus the grace deliveries in which a worker dead-letters the task; `nil` for
    /// unlimited.
    var maxDeliver: Int?
    /// `MaxAckPending`; `nil` for unlimited.
    var maxAckPending: Int?

    init(layout: QueueLayout, configuration: QueueConfiguration) {
        guard !layout.isScheduledTasks else {
            (ackWait, backoff, maxDeliver, maxAckPending) = (ScheduledTaskMover.ackWait, [], nil, nil)
            return
        }
        let consumer = configuration.consumer
        ackWait = consumer.ackWait
        backoff = consumer.backoff
        maxDeliver = consumer.maxDeliveries.map { $0 + QueueLayout.graceDeliveries }
        maxAckPending = consumer.maxAckPending
    }
}
