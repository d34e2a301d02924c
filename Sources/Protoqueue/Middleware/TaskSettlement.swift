/// What became of a delivered task, as ``QueueMiddleware/settled(_:)`` sees it.
public struct TaskSettlement: Sendable {
    /// What the server was told.
    public enum Outcome: Sendable, Equatable {
        /// `+ACK`: done.
        case acknowledged
        /// `-NAK` with this delay: delivered again after it (zero: a stopping worker returned it).
        case retried(after: Duration)
        /// Stored in the dead-letter stream, then `+TERM`.
        case deadLettered(reason: DeadLetterReason, error: String)
        /// `+TERM` without a record: discarded by the handler, or failed with dead letters disabled.
        case terminated(reason: String)
        /// The acknowledgement could not be sent; the task is delivered again after the ack wait.
        case unsettled(error: String)
    }

    /// The queue's name.
    public var queue: String
    /// The full protobuf name of the queue's message type.
    public var taskType: String
    /// The task id; `nil` for a task that arrived without one.
    public var id: TaskID?
    /// The delivery count, from 1.
    public var attempt: Int
    /// The task's sequence in the work stream.
    public var sequence: UInt64
    /// The final outcome.
    public var outcome: Outcome
    /// The error the handler threw or failed with, if any.
    public var error: (any Error)?
    /// Whether the settlement (or a heartbeat before it) went out after the task's ack window had run out: the
    /// worker was frozen (`SIGSTOP`, a long pause) or its handler outlived its timeout, and the server may have
    /// delivered the task to another worker meanwhile, so it may run twice. The worker also logs a warning.
    public var late: Bool
    /// From the worker's decision to the settlement being handed to the connection: for a dead letter this includes
    /// storing the record. Acknowledgements are not confirmed by the server, so its round trip is not included.
    public var settleDuration: Duration
}
