/// How a queue's JetStream stream and durable consumer are set up.
///
/// ## Overview
/// ```swift
/// var configuration = QueueConfiguration()
/// configuration.maxAge = .seconds(7 * 24 * 3600)
/// configuration.consumer.maxDeliveries = 10
/// let queue = try await Queue<EmailTask>(connection: connection, name: "emails", configuration: configuration, logger:
/// logger)
/// ```
/// A queue creates what is missing and uses what exists when it matches; it never changes or deletes an existing
/// stream or consumer (a mismatch is a ``ProtoqueueCodec/ProtoqueueError/Code/configurationMismatch`` error listing the
/// differences).
public struct QueueConfiguration: Sendable, Hashable {
    /// The stream's name; `nil` uses the queue name.
    public var streamName: String?
    /// The subject prefix; `nil` uses `protoqueue.<queue name>`. The stream captures `<subject>.>` and tasks are
    /// published to `<subject>.ready.<tier>` (see `docs/wire-format.md`).
    public var subject: String?
    /// What removes messages from the stream (default: work queue, removed once acknowledged).
    public var retention: Retention
    /// Where the stream keeps messages (default: files).
    public var storage: Storage
    /// Copies of the stream in a cluster (1, 3 or 5).
    public var replicas: Int
    /// Messages older than this are removed; `nil` keeps them until processed (the default: never lose a task).
    public var maxAge: Duration?
    /// Total bytes the stream may hold; `nil` is unlimited. When full, new enqueues are refused.
    public var maxBytes: Int64?
    /// Messages the stream may hold; `nil` is unlimited. When full, new enqueues are refused.
    public var maxMessages: Int64?
    /// Largest message (headers plus body) the stream accepts; `nil` leaves only the server's `max_payload`.
    public var maxMessageSize: Int32?
    /// How long the server remembers task ids to drop duplicates (default 2 minutes).
    public var duplicateWindow: Duration
    /// The durable pull consumer workers share.
    public var consumer: Consumer
    /// Delays between attempts of a task whose handler threw or asked for a retry.
    public var retry: RetryPolicy
    /// How long one attempt's handler may run before it is cancelled (``CancellationReason/timeout``) and the task
    /// retried under ``retry`` (dead-lettered with reason ``DeadLetterReason/timeout`` after the last attempt). A
    /// task's ``EnqueueOptions/timeout`` overrides it. `nil` (the default) lets handlers run as long as they take:
    /// the worker's heartbeats keep the task from going to another worker meanwhile.
    public var timeout: Duration?
    /// The dead-letter stream (on by default).
    public var deadLetter: DeadLetterConfiguration
    /// Lifecycle events on core NATS subjects `<subject>.events.<kind>` (off by default).
    public var events: EventConfiguration
    /// Priority tiers (``Priorities``); ``Priorities/none`` (the default) is one tier, `default`.
    public var priorities: Priorities
    /// What opening the queue does when the task type's schema breaks tasks written with a registered one:
    /// ``SchemaCheck/refuse`` (the default) or ``SchemaCheck/warn``.
    public var schemaCheck: SchemaCheck

    /// Creates a configuration with the defaults described on each property.
    public init(
        streamName: String? = nil,
        subject: String? = nil,
        retention: Retention = .workQueue,
        storage: Storage = .file,
        replicas: Int = 1,
        maxAge: Duration? = nil,
        maxBytes: Int64? = nil,
        maxMessages: Int64? = nil,
        maxMessageSize: Int32? = nil,
        duplicateWindow: Duration = .seconds(120),
        consumer: Consumer = Consumer(),
        retry: RetryPolicy = .default,
        timeout: Duration? = nil,
        deadLetter: DeadLetterConfiguration = DeadLetterConfiguration(),
        events: EventConfiguration = .disabled,
        priorities: Priorities = .none,
        schemaCheck: SchemaCheck = .refuse
    ) {
        self.schemaCheck = schemaCheck
        self.events = events
        self.priorities = priorities
        self.streamName = streamName
        self.subject = subject
        self.retention = retention
        self.storage = storage
        self.replicas = replicas
        self.maxAge = maxAge
        self.maxBytes = maxBytes
        self.maxMessages = maxMessages
        self.maxMessageSize = maxMessageSize
        self.duplicateWindow = duplicateWindow
        self.consumer = consumer
        self.retry = retry
        self.timeout = timeout
        self.deadLetter = deadLetter
    }

    /// Stream retention policy.
    public struct Retention: Sendable, Hashable, CustomStringConvertible {
        let raw: Int
        /// A message is removed once a worker acknowledges it (the default for task queues).
        public static let workQueue = Retention(raw: 2)
        /// Messages stay until a limit (age, bytes, count) removes them.
        public static let limits = Retention(raw: 0)
        /// A message is removed once every consumer acknowledged it.
        public static let interest = Retention(raw: 1)
        /// `workQueue`, `limits` or `interest`.
        public var description: String { ["limits", "interest", "workQueue"][raw] }
    }

    /// Stream storage.
    public struct Storage: Sendable, Hashable, CustomStringConvertible {
        let raw: Int
        /// On disk (the default).
        public static let file = Storage(raw: 0)
        /// In memory only; lost when the server restarts.
        public static let memory = Storage(raw: 1)
        /// `file` or `memory`.
        public var description: String { raw == 0 ? "file" : "memory" }
    }

    /// The durable pull consumer's settings.
    public struct Consumer: Sendable, Hashable {
        /// Its durable name; `nil` uses `<queue name>-workers`.
        public var durableName: String?
        /// How long a worker may hold a task before it is redelivered (ignored by the server when ``backoff`` is set).
        public var ackWait: Duration
        /// Attempts a task gets (handler runs) before it is dead-lettered; `nil` is unlimited. The server consumer
        /// is created with `MaxDeliver` = this + ``QueueLayout/graceDeliveries``: a delivery past the attempts
        /// (after ack timeouts or worker crashes) is dead-lettered without running the handler, so no task is left
        /// stranded in the work stream at the server's limit.
        public var maxDeliveries: Int?
        /// Redelivery delays after ack timeouts; must be shorter than ``maxDeliveries``.
        public var backoff: [Duration]
        /// Tasks handed out and not yet acknowledged, across all workers.
        public var maxAckPending: Int

        /// Creates consumer settings (defaults: ack wait 30 s, 5 deliveries, no backoff, 1,000 ack pending).
        public init(
            durableName: String? = nil,
            ackWait: Duration = .seconds(30),
            maxDeliveries: Int? = 5,
            backoff: [Duration] = [],
            maxAckPending: Int = 1000
        ) {
            self.durableName = durableName
            self.ackWait = ackWait
            self.maxDeliveries = maxDeliveries
            self.backoff = backoff
            self.maxAckPending = maxAckPending
        }
    }
}

extension QueueConfiguration {
    /// Throws ``ProtoqueueError/Code/invalidConfiguration`` naming the first setting out of range.
    func validate() throws(ProtoqueueError) {
        func bad(_ text: String) -> ProtoqueueError { ProtoqueueError(.invalidConfiguration, text) }
        guard [1, 3, 5].contains(replicas) else {
            throw bad("replicas must be 1, 3 or 5, not \(replicas)")
        }
        if let age = maxAge, age <= .zero { throw bad("maxAge must be positive") }
        if let bytes = maxBytes, bytes <= 0 { throw bad("maxBytes must be positive") }
        if let messages = maxMessages, messages <= 0 { throw bad("maxMessages must be positive") }
        if let size = maxMessageSize, size <= 0 { throw bad("maxMessageSize must be positive") }
        guard duplicateWindow > .zero else { throw bad("duplicateWindow must be positive") }
        if let timeout { try TaskTimeout.check(timeout, option: "timeout", code: .invalidConfiguration) }
        try priorities.validate()
        if events.isEnabled && events.bufferCapacity < 1 {
            throw bad("events.bufferCapacity must be at least 1, not \(events.bufferCapacity)")
        }
        if let age = maxAge, duplicateWindow > age {
            throw bad("duplicateWindow (\(duplicateWindow)) must not exceed maxAge (\(age))")
        }
        let consumer = self.consumer
        guard consumer.ackWait > .zero else { throw bad("consumer ackWait must be positive") }
        if let deliveries = consumer.maxDeliveries {
            guard deliveries >= 1 else { throw bad("consumer maxDeliveries must be at least 1") }
            if !consumer.backoff.isEmpty && deliveries <= consumer.backoff.count {
                throw bad(
                    "consumer maxDeliveries (\(deliveries)) must be greater than the number of backoff steps "
                        + "(\(consumer.backoff.count))"
                )
            }
        }
        guard consumer.backoff.allSatisfy({ $0 > .zero }) else { throw bad("consumer backoff steps must be positive") }
        guard consumer.maxAckPending >= 1 else { throw bad("consumer maxAckPending must be at least 1") }
    }
}
