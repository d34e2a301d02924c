public import Foundation

/// Options for one enqueued task.
public struct EnqueueOptions: Sendable, Hashable {
    /// The task id and idempotency key, sent as `Nats-Msg-Id`: enqueueing the same id again inside the stream's
    /// duplicate window stores the task once. `nil` generates a random one (``TaskID/random()``).
    public var id: TaskID?
    /// String metadata carried as `Protoqueue-Meta-<key>` headers. Keys: letters, digits, `-`, `_`, `.`, not
    /// starting with `Nats-`; values: no CR, LF or NUL.
    public var metadata: [String: String]
    /// The earliest time the task may start. A later time stores the task at once (the receipt means the same) on
    /// the queue's scheduled subject, and a worker moves it to the ready subject when it is due; `nil` or a time
    /// already passed enqueues it ready to run.
    public var notBefore: Date?
    /// The latest time the task may start (`Protoqueue-Start-By`): a worker that receives its first attempt later
    /// dead-letters it with reason ``DeadLetterReason/expired`` without running the handler. Retries of a task that
    /// started in time still run. `nil` for no deadline; a time before ``notBefore`` is refused.
    public var startBy: Date?
    /// Makes the task unique by a key (``Uniqueness``); `nil` for none. Single enqueues only: a batch refuses it.
    public var unique: Uniqueness?
    /// How long one attempt's handler may run (`Protoqueue-Timeout`, in milliseconds, rounded up), overriding the
    /// queue's ``QueueConfiguration/timeout``; `nil` uses the queue's. Positive and at most 365 days.
    public var timeout: Duration?
    /// The priority tier (``QueueConfiguration/priorities``): the task goes to `<subject>.ready.<tier>`; `nil` uses
    /// the queue's default tier. A tier the queue does not have is refused.
    public var priority: String?

    /// Creates options.
    /// - Parameters:
    ///   - id: Idempotency key; `nil` generates one.
    ///   - metadata: String metadata.
    ///   - notBefore: The earliest start; `nil` for at once.
    ///   - startBy: The latest start; `nil` for no deadline.
    ///   - unique: A uniqueness key and scope; `nil` for none.
    ///   - timeout: The handler's time limit per attempt; `nil` uses the queue's.
    ///   - priority: The priority tier; `nil` uses the queue's default.
    public init(
        id: TaskID? = nil, metadata: [String: String] = [:], notBefore: Date? = nil, startBy: Date? = nil,
        unique: Uniqueness? = nil, timeout: Duration? = nil, priority: String? = nil
    ) {
        self.priority = priority
        self.timeout = timeout
        self.id = id
        self.metadata = metadata
        self.notBefore = notBefore
        self.startBy = startBy
        self.unique = unique
    }

    /// Options for a task that starts no earlier than `delay` from now.
    /// - Parameters:
    ///   - delay: How long to wait at least.
    ///   - id: Idempotency key; `nil` generates one.
    ///   - metadata: String metadata.
    /// - Returns: The options, with ``notBefore`` set.
    public static func delayed(by delay: Duration, id: TaskID? = nil, metadata: [String: String] = [:]) -> Self {
        let (seconds, attoseconds) = delay.components
        let interval = Double(seconds) + Double(attoseconds) / 1e18
        return EnqueueOptions(id: id, metadata: metadata, notBefore: Date().addingTimeInterval(interval))
    }

    /// `date` as the `Protoqueue-Not-Before` value: Unix milliseconds, rounded up.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidHeader`` for a time before 1970 or after 9999.
    static func dueMilliseconds(_ date: Date) throws(ProtoqueueError) -> Int64 {
        try headerMilliseconds(date, option: "notBefore", header: WireFormat.notBeforeHeader, rounding: .up)
    }

    /// `date` as the value of the time header `header`, set by the option `option`: Unix milliseconds.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidHeader`` for a time before 1970 or after 9999.
    static func headerMilliseconds(
        _ date: Date, option: String, header: String, rounding: FloatingPointRoundingRule
    ) throws(ProtoqueueError) -> Int64 {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite, seconds >= 0, seconds < 253_402_300_800 else {
            throw ProtoqueueError(
                .invalidHeader, "\(option) \(date) becomes the \(header) header and must lie between 1970 and 9999")
        }
        return Int64((seconds * 1000).rounded(rounding))
    }
}
