import Foundation

/// The seam between the queue logic and the messaging system: everything a ``Queue`` and its processors ask of the
/// server, in Swift values. ``NATSClient`` implements it over nats.c, ``MemoryBroker`` in memory (for
/// `ProtoqueueTesting`); nothing above this protocol sees nats.c.
///
/// Failures are ``ProtoqueueError``s, mapped by the transport; "not found" answers of queries are `nil` or `false`.
/// Calls are bounded by the transport's request timeout.
protocol QueueTransport: AnyObject, Sendable {
    /// Marks a call as in progress, so that closing waits for it.
    /// - Throws: ``ProtoqueueError/Code/connectionClosed`` once closing has begun.
    func beginCall() throws(ProtoqueueError)
    /// Ends a call begun with ``beginCall()``.
    func endCall()
    /// The largest message (headers plus body) the server accepts, in bytes (0 once closed).
    var maxPayload: Int { get }
    /// Closes the connection once the calls in progress ended; safe to call more than once.
    func close() async
    /// The largest message (headers plus body) the server accepts, in bytes.
    func currentMaxPayload() throws(ProtoqueueError) -> Int

    /// Verifies the queue's streams and consumer and, when `create` is set, creates those that are missing; never
    /// updates or deletes.
    func provision(
        _ layout: QueueLayout, configuration: QueueConfiguration, create: Bool
    ) async throws(ProtoqueueError) -> ProvisionedStream

    /// Whether the registry's stream (``QueueLayout/registryStreamName``, a key-value bucket keeping the last
    /// message per subject) exists; when it is missing and `create` is set, creates it with `replicas` first.
    func ensureRegistry(replicas: Int, create: Bool) async throws(ProtoqueueError) -> Bool
    /// Every stream of the account with its subjects, by name.
    func streamSubjects() async throws(ProtoqueueError) -> [String: [String]]
    /// The state of `stream`, or `nil` when there is no such stream.
    func streamState(_ stream: String) async throws(ProtoqueueError) -> StreamState?
    /// The counters of a consumer; throws when it or its stream is missing.
    func consumerState(stream: String, consumer: String) async throws(ProtoqueueError) -> ConsumerState
    /// The message at `sequence`, or `nil` when there is none. `operation` names the call in errors.
    func message(stream: String, sequence: UInt64, operation: String) async throws(ProtoqueueError) -> StoredMessage?
    /// The first message at `sequence` or after it on a subject `subject` matches (`>` for any), deleted ones
    /// skipped in the same request, or `nil` when there is none.
    func message(
        stream: String, atOrAfter sequence: UInt64, subject: String, operation: String
    ) async throws(ProtoqueueError) -> StoredMessage?
    /// Deletes consumer `consumer` of `stream`; `false` when there was none.
    @discardableResult
    func deleteConsumer(stream: String, consumer: String, operation: String) async throws(ProtoqueueError) -> Bool
    /// Deletes the message at `sequence`; `false` when there was none.
    @discardableResult
    func deleteMessage(stream: String, sequence: UInt64, operation: String) async throws(ProtoqueueError) -> Bool
    /// Removes every message of `stream`.
    func purge(stream: String, operation: String) async throws(ProtoqueueError)
    /// Removes the messages on `subject` (wildcards allowed) of `stream`.
    func purge(stream: String, subject: String, operation: String) async throws(ProtoqueueError)
    /// The last message on `subject` of `stream`, or `nil` when the subject has none.
    func lastMessage(stream: String, subject: String, operation: String) async throws(ProtoqueueError) -> StoredMessage?
    /// The subjects of `stream` matching `filter` (wildcards allowed) that hold messages, with their counts.
    func subjectCounts(
        stream: String, filter: String, operation: String
    ) async throws(ProtoqueueError) -> [String: UInt64]

    /// The server's JetStream API level: 0 before nats-server 2.11, 1 on 2.11, 5 on 2.15.
    func jetStreamAPILevel() async throws(ProtoqueueError) -> Int
    /// Pauses `consumer` of `stream` until `until` (the server holds its deliveries), or resumes it when `until` is
    /// `nil`. Needs API level 1.
    func pauseConsumer(stream: String, consumer: String, until: Date?) async throws(ProtoqueueError) -> ConsumerPause
    /// Whether `consumer` of `stream` is paused (never on servers before 2.11).
    func consumerPause(stream: String, consumer: String) async throws(ProtoqueueError) -> ConsumerPause

    /// Publishes one message and waits for the server to store it, sending it again under the same
    /// `Nats-Msg-Id` after an acknowledgement timeout, `maxAttempts` sends at most.
    func publish(_ prepared: PreparedMessage, maxAttempts: Int) async throws(ProtoqueueError) -> EnqueueReceipt
    /// Publishes what `source` gives until it returns `nil`, with at most ``BatchOptions/window`` unacknowledged,
    /// and reports every message to `sink` in input order. Both run on a library thread.
    func publishBatch(
        options: BatchOptions, source: @escaping @Sendable () -> BatchInput?,
        sink: @escaping @Sendable (BatchOutput) -> Void
    ) async throws(ProtoqueueError) -> BatchSummary

    /// Publishes a core NATS message (no JetStream, no acknowledgement) without waiting for the server; called on a
    /// library thread, as it may block on a full socket.
    /// - Returns: `false` when the message could not be handed over (closed, or the reconnect buffer full).
    func publishCore(subject: String, body: [UInt8]) -> Bool
    /// Subscribes to `subject` (wildcards allowed) on core NATS; `deliver` gets each message's body and subject, on
    /// a transport thread, until the subscription is cancelled.
    func subscribeCore(
        subject: String, deliver: @escaping @Sendable (_ body: [UInt8], _ subject: String) -> Void
    ) async throws(ProtoqueueError) -> any CoreSubscription

    /// Now, in Unix milliseconds, on the clock that due times of scheduled tasks are read against: the wall clock,
    /// or the in-memory transport's virtual one.
    func scheduleClockMilliseconds() -> Int64

    /// Checks that the queue's consumer exists and returns the transport side of processing on this connection.
    func deliveries(for layout: QueueLayout) async throws(ProtoqueueError) -> any DeliveryTransport
}

/// A core NATS subscription (``QueueTransport/subscribeCore(subject:deliver:)``).
protocol CoreSubscription: Sendable {
    /// Stops deliveries; safe to call more than once.
    func cancel()
}

/// One message of a batch: its id, and the prepared message or why it could not be prepared.
typealias BatchInput = (id: TaskID?, prepared: Result<PreparedMessage, ProtoqueueError>)
/// What became of the batch message at `index`.
typealias BatchOutput = (index: Int, result: Result<EnqueueReceipt, ProtoqueueError>)

/// The transport side of running processors, shared by all of them on one connection.
///
/// A registered ``ProcessorEngine`` gets its callbacks from the transport: ``ProcessorEngine/delivered(_:)`` and
/// ``ProcessorEngine/requestEnded(_:)`` as the server answers its pull requests, ``ProcessorEngine/turn(now:)`` to
/// send the next one, ``ProcessorEngine/release(_:)`` once settlements went out, and
/// ``ProcessorEngine/checkConsumer(after:ensure:)`` when the server says its consumer may be gone.
protocol DeliveryTransport: AnyObject, Sendable {
    /// A new processor id.
    func makeProcessorID() -> UInt64
    /// Routes deliveries and status messages for `engine` to it and gives it its first turn.
    func register(_ engine: ProcessorEngine)
    /// Stops routing to `engine`.
    func unregister(_ engine: ProcessorEngine)
    /// Gives the processor `id` a turn soon (its slots, requests or stop state changed).
    func touch(_ id: UInt64)
    /// Sends the pull request numbered `number` of `engine` for `count` messages, expiring after `expires` ns.
    /// - Returns: `nil` when sent, or why not.
    func pull(for engine: ProcessorEngine, count: Int, expires: UInt64, number: UInt64) -> ProtoqueueError?
    /// Tells the server that `delivery` is still being worked on, in order with its settlement.
    func signalInProgress(_ delivery: Delivery)
    /// Puts the settlement of `delivery` on the wire, then releases its slot and, when given, tells `report` what the
    /// server was told (``SettlementReport/tell(_:late:)``, on the transport's thread).
    func settle(_ delivery: Delivery, _ settlement: Settlement, then report: SettlementReport?)
    /// Has the consumer of `engine` looked at (``ProcessorEngine/checkConsumer(after:ensure:)``); `reason` is what
    /// the server said.
    func checkConsumer(of engine: ProcessorEngine, reason: String)
    /// Returns a delivery no processor takes to the server for immediate redelivery.
    func returnUnclaimed(_ delivery: Delivery)
    /// Returns once every settlement of `engine` queued so far is on the wire.
    func flush(for engine: ProcessorEngine) async
}

/// A delivery as its transport holds it until settlement.
protocol TransportMessage: Sendable {
    /// The subject the task was published to.
    var subject: String { get }
    /// Subject, payload, headers, delivery count and stream sequence. Call before settling.
    /// - Parameter texts: Header values the message probably carries (its task type, its schema fingerprint): a
    ///   value equal to one of them is that string rather than a copy.
    func read(expecting texts: [String]) -> ReceivedMessage
    /// Stream, consumer, delivery count and stream sequence.
    func metadata() -> DeliveryMetadata
}

extension QueueTransport {
    /// The last token of each subject of `stream` matching `filter` that holds messages: the names of the records
    /// kept one subject each (schedules, schemas).
    func lastTokens(stream: String, filter: String, operation: String) async throws(ProtoqueueError) -> [String] {
        try await subjectCounts(stream: stream, filter: filter, operation: operation).keys.compactMap {
            $0.split(separator: ".").last.map(String.init)
        }
    }
}
