public import Foundation

/// Queue depth and progress, read from the stream and its consumer.
public struct QueueStats: Sendable, Hashable {
    /// Tasks in the stream (on a work-queue stream: not yet acknowledged). The library's own records in the stream
    /// (schedules, unique-key locks on `<subject>.control.>`) are not counted.
    public var messages: UInt64
    /// Bytes the stream holds.
    public var bytes: UInt64
    /// Sequence of the oldest message (0 when empty).
    public var firstSequence: UInt64
    /// Sequence of the newest message ever stored.
    public var lastSequence: UInt64
    /// Consumers on the stream.
    public var consumerCount: Int
    /// Tasks the queue's consumer has not delivered yet.
    public var pending: UInt64
    /// Tasks delivered to workers and not acknowledged yet: running, or returned with a retry delay of at most a
    /// second (longer retries wait in ``scheduled``).
    public var ackPending: Int64
    /// Tasks delivered more than once and not acknowledged yet.
    public var redelivered: Int64
    /// Pull requests waiting at the server (idle workers).
    public var waitingPulls: Int64
    /// Tasks in the dead-letter stream (0 while it does not exist).
    public var deadLetters: UInt64
    /// The consumer's limit on ``ackPending`` over all workers (`QueueConfiguration.Consumer.maxAckPending`); 0 for
    /// none.
    public var maxAckPending: Int64
    /// Delayed tasks and tasks waiting for a retry delay longer than a second, held by the scheduled-task consumer
    /// until due (0 when the queue has no such consumer).
    public var scheduled: UInt64
    /// Schedules declared on the queue (``Queue/declareSchedule(_:task:metadata:)``).
    public var schedules: Int
    /// Whether the queue is paused (``Queue/pause(until:)``): its workers start no task.
    public var isPaused: Bool
    /// When the pause ends on its own; `nil` when not paused or paused until ``Queue/resume()``.
    public var pausedUntil: Date?

    /// Creates stats.
    public init(
        messages: UInt64, bytes: UInt64, firstSequence: UInt64, lastSequence: UInt64, consumerCount: Int,
        pending: UInt64, ackPending: Int64, redelivered: Int64, waitingPulls: Int64, deadLetters: UInt64,
        scheduled: UInt64 = 0, maxAckPending: Int64 = 0, schedules: Int = 0, isPaused: Bool = false,
        pausedUntil: Date? = nil
    ) {
        self.isPaused = isPaused
        self.pausedUntil = pausedUntil
        self.messages = messages
        self.bytes = bytes
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.consumerCount = consumerCount
        self.pending = pending
        self.ackPending = ackPending
        self.redelivered = redelivered
        self.waitingPulls = waitingPulls
        self.deadLetters = deadLetters
        self.scheduled = scheduled
        self.maxAckPending = maxAckPending
        self.schedules = schedules
    }

    /// Whether tasks wait undelivered because ``ackPending`` reached ``maxAckPending``: workers with free slots
    /// get nothing until tasks in flight settle.
    public var isAckPendingLimitReached: Bool {
        AckPendingWatch.isBlocked(pending: pending, ackPending: ackPending, maxAckPending: maxAckPending)
    }
}

extension Queue {
    /// Reads the stream, the consumers and the dead-letter stream.
    /// - Returns: Current depth and progress.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` if the stream or consumer was deleted, or a
    ///   connection error.
    public func stats() async throws(ProtoqueueError) -> QueueStats {
        try await handle.stats()
    }
}

extension QueueHandle {
    /// What ``Queue/stats()`` reads.
    package func stats() async throws(ProtoqueueError) -> QueueStats {
        let layout = self.layout
        let transport = connection.transport
        guard let stream = try await transport.streamState(layout.streamName) else {
            throw ProtoqueueError(.streamNotFound, "read stream \"\(layout.streamName)\": stream not found")
        }
        // A queue with priority tiers has a consumer per tier: their counts add up.
        var consumer = ConsumerState(pending: 0, ackPending: 0, redelivered: 0, waitingPulls: 0, maxAckPending: 0)
        for tier in layout.workerConsumers {
            let state = try await transport.consumerState(stream: layout.streamName, consumer: tier.consumerName)
            consumer.pending += state.pending
            consumer.ackPending += state.ackPending
            consumer.redelivered += state.redelivered
            consumer.waitingPulls += state.waitingPulls
            consumer.maxAckPending += max(0, state.maxAckPending)
        }
        let deadLetters = try await transport.streamState(layout.deadLetterStreamName)
        var scheduled: UInt64 = 0
        do throws(ProtoqueueError) {
            let state = try await transport.consumerState(
                stream: layout.streamName, consumer: layout.scheduledConsumerName)
            scheduled = state.pending + UInt64(max(0, state.ackPending))
        } catch  where error.code == .streamNotFound {
            // Made by an older version and opened without provisioning: no task waits there.
        }
        let records = try await transport.subjectCounts(
            stream: layout.streamName, filter: layout.controlFilter, operation: "count the queue's records")
        let recordMessages = records.values.reduce(0, +)
        let schedules = records.keys.filter { WireFormat.subject($0, matches: layout.scheduleRecordFilter) }.count
        let pause = try await transport.consumerPause(
            stream: layout.streamName, consumer: layout.workerConsumers[0].consumerName)
        return QueueStats(
            messages: stream.messages > recordMessages ? stream.messages - recordMessages : 0,
            bytes: stream.bytes,
            firstSequence: stream.firstSequence,
            lastSequence: stream.lastSequence,
            consumerCount: stream.consumerCount,
            pending: consumer.pending,
            ackPending: consumer.ackPending,
            redelivered: consumer.redelivered,
            waitingPulls: consumer.waitingPulls,
            deadLetters: deadLetters?.messages ?? 0,
            scheduled: scheduled,
            maxAckPending: max(0, consumer.maxAckPending),
            schedules: schedules,
            isPaused: pause.paused,
            pausedUntil: pause.until.flatMap { $0 < QueueHandle.indefinitePause ? $0 : nil }
        )
    }
}
