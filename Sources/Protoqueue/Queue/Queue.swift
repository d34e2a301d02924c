import Foundation
public import Logging
public import ProtoqueueSchema

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A typed task queue on a JetStream stream: every task is one protobuf-encoded `Message`.
///
/// ## Overview
/// ```swift
/// let queue = try await Queue<EmailTask>(connection: connection, name: "emails", logger: logger)
/// let receipt = try await queue.enqueue(EmailTask(to: "ada@example.com"), options: .init(id: "welcome-ada"))
/// let results = try await queue.enqueueBatch(tasks)       // one result per task, in input order
/// print(try await queue.stats().messages)
/// ```
/// Creating a queue provisions its stream and durable consumer: it creates what is missing and verifies what exists,
/// throwing ``ProtoqueueCodec/ProtoqueueError/Code/configurationMismatch`` (with every difference listed) rather than
/// changing a stream that may hold tasks. Subjects and headers follow `docs/wire-format.md`.
public struct Queue<Message: ProtoqueueMessage>: Sendable {
    /// The queue's name.
    public let name: String
    /// The connection the queue uses.
    public let connection: NATSConnection
    /// The configuration the queue was provisioned with.
    public let configuration: QueueConfiguration
    /// The stream, subjects and consumer the queue uses.
    public let layout: QueueLayout
    let logger: Logger
    let streamMaxMessageSize: Int?
    /// The queue's middleware, in order.
    let middleware: MiddlewareChain
    /// Where its lifecycle events go, when they are on.
    let events: QueueEvents?
    /// The fingerprint of the task type's schema, sent on every task as `Protoqueue-Schema`; `nil` for a type
    /// written by hand (without descriptors).
    public let schemaFingerprint: SchemaFingerprint?

    /// Opens a queue, by default creating its streams and consumer if they do not exist.
    /// - Parameters:
    ///   - connection: An open connection.
    ///   - name: The queue name: one subject token, also a valid stream name (no `.`, `*`, `>`, whitespace).
    ///   - configuration: Stream and consumer settings.
    ///   - provisioning: Create what is missing and verify what exists (the default), only verify, or neither.
    ///   - middleware: Hooks around enqueueing and processing every task, in order (``QueueMiddleware``).
    ///   - logger: Where the queue logs (at `debug` and above). The library never bootstraps logging.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError`` with ``ProtoqueueCodec/ProtoqueueError/Code/invalidName``,
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/invalidConfiguration``,
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/configurationMismatch``,
    ///   ``/ProtoqueueCodec/ProtoqueueError/Code/incompatibleSchema`` (the task type's schema breaks tasks written
    ///   with one registered for the queue, see ``QueueConfiguration/schemaCheck``),
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/permissionDenied`` or a connection error.
    public init(
        connection: NATSConnection,
        name: String,
        configuration: QueueConfiguration = QueueConfiguration(),
        provisioning: Provisioning = .createOrVerify,
        middleware: [any QueueMiddleware] = [],
        logger: Logger
    ) async throws(ProtoqueueError) {
        let layout = try QueueLayout(queueName: name, configuration: configuration)
        try configuration.validate()
        var logger = logger
        logger[metadataKey: "protoqueue.queue"] = "\(name)"
        var provisioned = ProvisionedStream(maxMessageSize: nil, createdStream: false, createdConsumer: false)
        let schema = try LocalSchema(Message.self)
        if provisioning != .none {
            provisioned = try await connection.transport.provision(
                layout, configuration: configuration, create: provisioning == .createOrVerify)
            try await SchemaGate(
                registry: SchemaRegistry(transport: connection.transport, layout: layout), queue: name, logger: logger
            ).open(
                schema,
                policy: QueuePolicyRecord(
                    queue: name, taskType: Message.protoMessageName, configuration: configuration, layout: layout),
                configuration: configuration, create: provisioning == .createOrVerify,
                memory: connection.registrations)
        }
        logger.debug(
            "queue ready",
            metadata: [
                "protoqueue.stream": "\(layout.streamName)", "protoqueue.provisioning": "\(provisioning)",
                "protoqueue.createdStream": "\(provisioned.createdStream)",
                "protoqueue.createdConsumer": "\(provisioned.createdConsumer)",
            ]
        )
        self.name = name
        self.connection = connection
        self.configuration = configuration
        self.layout = layout
        self.logger = logger
        self.streamMaxMessageSize = provisioned.maxMessageSize
        self.middleware = MiddlewareChain(list: middleware)
        self.schemaFingerprint = schema?.fingerprint
        self.events =
            configuration.events.isEnabled
            ? QueueEvents(
                outbox: connection.makeEventOutbox(
                    capacity: configuration.events.bufferCapacity, queue: name, taskType: Message.protoMessageName,
                    layout: layout, logger: logger))
            : nil
    }
}

/// What the server said about one enqueued task.
public struct EnqueueReceipt: Sendable, Hashable {
    /// The task id (`Nats-Msg-Id`).
    public var id: TaskID
    /// The task's sequence number in the stream (for a duplicate: the sequence of the copy already stored).
    public var sequence: UInt64
    /// Whether the server recognised the id inside the duplicate window and did not store the task again.
    public var duplicate: Bool
    /// The stream that stored it.
    public var stream: String

    /// Creates a receipt.
    public init(id: TaskID, sequence: UInt64, duplicate: Bool, stream: String) {
        self.id = id
        self.sequence = sequence
        self.duplicate = duplicate
        self.stream = stream
    }
}

extension Queue {
    /// Encodes and validates a task into the wire format; nothing touches the network. Middleware has run.
    /// The timing comes from `timing`: ``EnqueueOptions/notBefore``, ``EnqueueOptions/startBy`` and
    /// ``EnqueueOptions/timeout`` (its id and metadata are not read).
    func prepare(
        _ task: Message, id: TaskID, metadata: [String: String], headers extra: [String: String],
        timing: EnqueueOptions, maxPayload: Int
    ) throws(ProtoqueueError) -> PreparedMessage {
        let prepared = try TaskEnvelope.prepare(
            body: try task.serializedBytes(), type: Message.protoMessageName, fingerprint: schemaFingerprint, id: id,
            metadata: metadata, headers: extra, timing: timing, priorities: configuration.priorities, layout: layout)
        try checkSize(prepared, maxPayload: maxPayload)
        return prepared
    }

    /// Refuses a message larger than the server's `max_payload` or the stream's maximum message size (headers
    /// included), before it is sent.
    func checkSize(_ prepared: PreparedMessage, maxPayload: Int) throws(ProtoqueueError) {
        try TaskEnvelope.checkSize(
            prepared, maxPayload: maxPayload, streamLimit: streamMaxMessageSize, stream: layout.streamName)
    }

    /// Runs the middleware on a task (when there is any), then
    /// ``prepare(_:id:metadata:headers:timing:maxPayload:)``.
    func prepare(
        _ task: Message, options: EnqueueOptions, maxPayload: Int
    ) async throws(ProtoqueueError) -> PreparedMessage {
        let id = options.id ?? .random()
        guard !middleware.isEmpty else {
            return try prepare(
                task, id: id, metadata: options.metadata, headers: [:], timing: options, maxPayload: maxPayload)
        }
        var outgoing = OutgoingTask(
            queue: name, taskType: Message.protoMessageName, task: task, id: id, metadata: options.metadata,
            headers: [:])
        try await middleware.willEnqueue(&outgoing)
        return try prepare(
            task, id: outgoing.id, metadata: outgoing.metadata, headers: outgoing.headers, timing: options,
            maxPayload: maxPayload)
    }

    /// Enqueues one task and waits for the server to store it.
    ///
    /// A publish whose acknowledgement times out is sent again (same id, so never stored twice) up to three times;
    /// one that no stream answers (a stream still being created) is sent again for up to 2 s.
    /// - Parameters:
    ///   - task: The task.
    ///   - options: Id, metadata, earliest and latest start.
    /// - Returns: The receipt: id, stream sequence, duplicate flag.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError``: ``ProtoqueueCodec/ProtoqueueError/Code/invalidName`` /
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/invalidHeader`` /
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/payloadTooLarge`` before sending;
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/permissionDenied`` (naming the subject) as soon as the server reports
    ///   it; ``ProtoqueueCodec/ProtoqueueError/Code/noStreamForSubject``,
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/publishRejected``, ``ProtoqueueCodec/ProtoqueueError/Code/timeout``.
    public func enqueue(
        _ task: Message, options: EnqueueOptions = EnqueueOptions()
    ) async throws(ProtoqueueError) -> EnqueueReceipt {
        guard !middleware.isEmpty else { return try await send(task, options: options) }
        let outcome = try await middleware.send(operation(.single)) { () async throws(ProtoqueueError) in
            EnqueueOutcome(succeeded: 1, receipt: try await send(task, options: options))
        }
        // A middleware that returns an outcome of its own instead of calling `next` has enqueued nothing.
        guard let receipt = outcome.receipt else {
            throw ProtoqueueError(.refused, "a middleware of queue \(name) returned no receipt for the task")
        }
        return receipt
    }

    /// Prepares and publishes one task.
    private func send(_ task: Message, options: EnqueueOptions) async throws(ProtoqueueError) -> EnqueueReceipt {
        let transport = connection.transport
        if let unique = options.unique { try Validation.uniqueKey(unique) }
        let maxPayload = try transport.currentMaxPayload()
        let prepared = try await prepare(task, options: options, maxPayload: maxPayload)
        let receipt =
            if let unique = options.unique {
                try await sendUnique(prepared, unique, maxPayload: maxPayload)
            } else {
                try await transport.publish(prepared, maxAttempts: 3)
            }
        events?.enqueued(receipt)
        logger.trace(
            "enqueued", metadata: ["protoqueue.task_id": "\(receipt.id)", "protoqueue.sequence": "\(receipt.sequence)"])
        return receipt
    }

    /// The middleware's view of an enqueue call on this queue.
    func operation(_ kind: EnqueueOperation.Kind) -> EnqueueOperation {
        EnqueueOperation(queue: name, taskType: Message.protoMessageName, subject: layout.readySubject, kind: kind)
    }
}

enum WallClock {
    static func unixMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
