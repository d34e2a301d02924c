/// One call that enqueues tasks, as ``QueueMiddleware/send(_:next:)`` sees it: a single ``Queue/enqueue(_:options:)``
/// or a whole batch.
public struct EnqueueOperation: Sendable {
    /// What kind of call.
    public enum Kind: Sendable, Equatable {
        /// ``Queue/enqueue(_:options:)``: one task.
        case single
        /// An `enqueueBatch` call with this many tasks; `nil` for a batch read from an asynchronous sequence.
        case batch(count: Int?)
    }

    /// The queue's name.
    public let queue: String
    /// The full protobuf name of the queue's message type.
    public let taskType: String
    /// The subject the tasks are published on.
    public let subject: String
    /// A single task or a batch.
    public let kind: Kind
}

/// What an ``EnqueueOperation`` did, as ``QueueMiddleware/send(_:next:)`` gets it from `next`.
public struct EnqueueOutcome: Sendable {
    /// Tasks the server stored, duplicates included.
    public var succeeded: Int
    /// Tasks the server recognised as duplicates of an id already stored.
    public var duplicates: Int
    /// Tasks that were not enqueued, by error code (a batch reports them here; a single enqueue throws instead).
    public var failures: [ProtoqueueError.Code: Int]
    /// The receipt of a single enqueue; `nil` for a batch.
    public var receipt: EnqueueReceipt?

    /// Tasks that were not enqueued.
    public var failed: Int { failures.values.reduce(0, +) }

    /// Creates an outcome.
    public init(
        succeeded: Int = 0, duplicates: Int = 0, failures: [ProtoqueueError.Code: Int] = [:],
        receipt: EnqueueReceipt? = nil
    ) {
        self.succeeded = succeeded
        self.duplicates = duplicates
        self.failures = failures
        self.receipt = receipt
    }

}
