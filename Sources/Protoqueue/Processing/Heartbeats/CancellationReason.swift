/// Why a handler's task was cancelled (``TaskContext/cancellationReason``).
public struct CancellationReason: Sendable, Hashable, CustomStringConvertible {
    /// The stable name.
    public let name: String

    /// The task ran past its timeout (``QueueConfiguration/timeout``, ``EnqueueOptions/timeout``): it is retried
    /// under the queue's policy, or dead-lettered with reason ``DeadLetterReason/timeout`` after its last attempt.
    public static let timeout = CancellationReason(name: "timeout")
    /// The worker is stopping: the task goes back to the queue at once, its attempt not held against it.
    public static let shutdown = CancellationReason(name: "shutdown")

    /// The name.
    public var description: String { name }
}

/// The error a timed-out attempt ends with: its text is what a dead-letter record keeps, and it is the
/// ``TaskSettlement/error`` the middleware sees.
public struct TaskTimedOut: Error, Hashable, CustomStringConvertible {
    /// The timeout the handler ran past.
    public var timeout: Duration

    /// Creates the error.
    /// - Parameter timeout: The timeout the handler ran past.
    public init(timeout: Duration) { self.timeout = timeout }

    /// What happened.
    public var description: String { "the handler did not finish within its timeout of \(timeout)" }
}
