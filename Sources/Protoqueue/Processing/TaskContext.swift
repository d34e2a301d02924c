public import Foundation
public import Logging

/// What a handler knows about the task it runs.
///
/// ## Overview
/// ```swift
/// try await queue.process { task, context in
///     context.logger.info("sending")                 // carries protoqueue.task_id, .attempt, .sequence
///     if context.attempt > 1 { … }
///     for chunk in chunks { try await upload(chunk) }  // heartbeats go out on their own
///     if context.cancellationReason == .timeout { … }
///     return .success
/// }
/// ```
/// While the handler runs, the worker sends the task's heartbeats itself; ``inProgress()`` adds one at once.
public struct TaskContext: Sendable {
    /// The queue's name.
    public let queue: String
    /// The durable consumer that delivered the task; the workers that share it share the queue's tasks.
    public let consumer: String
    /// The task id (the producer's idempotency key), the same on every attempt and after a dead-letter replay.
    public let id: TaskID
    /// Which attempt this is, starting at 1: the attempts a rescheduled retry carries
    /// (`Protoqueue-Prior-Attempts`) plus JetStream's delivery count.
    public let attempt: Int
    /// The attempts allowed (``QueueConfiguration/Consumer/maxDeliveries``), `nil` when unlimited.
    public let maxAttempts: Int?
    /// When the task was enqueued (`Protoqueue-Enqueued-At`), `nil` when the producer did not say.
    public let enqueuedAt: Date?
    /// When the task was due (`Protoqueue-Not-Before`): a delayed task's earliest start, or a rescheduled retry's
    /// due time; `nil` for a task that could run as soon as it was enqueued.
    public let notBefore: Date?
    /// The task's deadline (`Protoqueue-Start-By`, ``EnqueueOptions/startBy``): its first attempt started before it.
    /// `nil` when the task has none.
    public let startBy: Date?
    /// How long this attempt may run (`Protoqueue-Timeout`, else ``QueueConfiguration/timeout``) before the
    /// handler's task is cancelled with ``CancellationReason/timeout``; `nil` for no limit.
    public let timeout: Duration?
    /// The producer's metadata (`Protoqueue-Meta-*` headers, prefix removed).
    public let metadata: [String: String]
    /// Every header of the message as received (first value of each), made on each read: read it once.
    public var headers: [String: String] { receivedHeaders.dictionary }
    /// The headers as the worker read them, in order.
    let receivedHeaders: ReceivedHeaders
    /// The subject the task was published to.
    public let subject: String
    /// The task's sequence number in the work stream.
    public let sequence: UInt64
    /// The queue's logger with `protoqueue.task_id`, `protoqueue.attempt` and `protoqueue.sequence` set.
    public var logger: Logger { Self.taskLogger(baseLogger, id: id, attempt: attempt, sequence: sequence) }

    /// `base` with a task's `protoqueue.task_id`, `protoqueue.attempt` and `protoqueue.sequence` set.
    static func taskLogger(_ base: Logger, id: TaskID?, attempt: Int, sequence: UInt64) -> Logger {
        var logger = base
        if let id { logger[metadataKey: "protoqueue.task_id"] = "\(id)" }
        logger[metadataKey: "protoqueue.attempt"] = "\(attempt)"
        logger[metadataKey: "protoqueue.sequence"] = "\(sequence)"
        return logger
    }
    let baseLogger: Logger
    let delivery: Delivery

    /// Tells the server the task is still being worked on (`+WPI`) now, which restarts its ack wait. The worker
    /// sends these heartbeats on its own while the handler runs (a third of the ack wait after the last one); call
    /// this only to send one at once. Does nothing once the task is settled.
    public func inProgress() async {
        delivery.signalInProgress()
    }

    /// Why the calling task is cancelled: ``CancellationReason/timeout`` once the task's timeout expired,
    /// ``CancellationReason/shutdown`` when the worker stops, `nil` while it is not cancelled. Read it from the
    /// handler's task (or a child of it) after `Task.isCancelled` or a `CancellationError`.
    public var cancellationReason: CancellationReason? {
        if delivery.timedOut { return .timeout }
        return Task.isCancelled ? .shutdown : nil
    }

    /// Whether this is the last attempt the retry policy allows.
    public var isLastAttempt: Bool { maxAttempts.map { attempt >= $0 } ?? false }
}
