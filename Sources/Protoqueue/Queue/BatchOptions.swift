/// Settings of one ``Queue/enqueueBatch(_:options:)-([EnqueueItem<Message>],_)`` call.
public struct BatchOptions: Sendable, Hashable {
    /// Tasks published and not yet reported, at most (the pending-acknowledgement window). Bounds memory:
    /// a batch of millions holds at most this many encoded tasks at once.
    public var window: Int
    /// How long to wait for each task's acknowledgement before sending it again (nats.c `jsPubOptions.MaxWait`);
    /// `nil` uses the connection's request timeout.
    public var ackTimeout: Duration?
    /// Sends per task (first send plus re-sends after ack timeouts, always with the same id).
    public var maxAttempts: Int

    /// Creates batch options (defaults: window 1,024, the connection's request timeout, 3 attempts).
    public init(window: Int = 1024, ackTimeout: Duration? = nil, maxAttempts: Int = 3) {
        self.window = window
        self.ackTimeout = ackTimeout
        self.maxAttempts = maxAttempts
    }
}

/// One task of a batch with its own options.
public struct EnqueueItem<Message: ProtoqueueMessage>: Sendable {
    /// The task.
    public var task: Message
    /// Its id and metadata.
    public var options: EnqueueOptions

    /// Creates an item.
    public init(_ task: Message, options: EnqueueOptions = EnqueueOptions()) {
        self.task = task
        self.options = options
    }
}

/// Counts of a finished batch.
public struct BatchSummary: Sendable, Hashable {
    /// Tasks read from the input.
    public var total: Int
    /// Tasks stored (duplicates included).
    public var succeeded: Int
    /// Tasks the server reported as duplicates of an id already stored.
    public var duplicates: Int
    /// Tasks that failed (their results carry the error).
    public var failed: Int
    /// Re-sends after acknowledgement timeouts.
    public var resent: Int

    /// Creates a summary.
    public init(total: Int = 0, succeeded: Int = 0, duplicates: Int = 0, failed: Int = 0, resent: Int = 0) {
        self.total = total
        self.succeeded = succeeded
        self.duplicates = duplicates
        self.failed = failed
        self.resent = resent
    }
}
