/// A handler that kept running after its timeout cancelled it (``QueueMiddleware/handlerStuck(_:)``).
///
/// Swift cancellation is cooperative: a handler that never checks it (a blocking call, a loop without
/// `try Task.checkCancellation()`) keeps running, and keeps its worker slot, until it returns. Its task gets no more
/// heartbeats, so the server delivers it to another worker once its ack window runs out; the stuck handler's own
/// settlement then comes late (``TaskSettlement/late``).
public struct StuckHandler: Sendable {
    /// The queue's name.
    public var queue: String
    /// The full protobuf name of the queue's message type.
    public var taskType: String
    /// The task id; `nil` for a task that arrived without one.
    public var id: TaskID?
    /// The attempt, from 1.
    public var attempt: Int
    /// The task's sequence in the work stream.
    public var sequence: UInt64
    /// The timeout it ran past.
    public var timeout: Duration
    /// How long the handler had run when it was found still running.
    public var runningFor: Duration
}
