public import Logging
import Synchronization

/// One connection to a NATS server or cluster, shared by any number of ``Queue``s.
///
/// ## Overview
/// ```swift
/// let connection = try await NATSConnection.connect(.init(servers: ["nats://127.0.0.1:4222"]), logger: logger)
/// let queue = try await Queue<EmailTask>(connection: connection, name: "emails", logger: logger)
/// // …
/// await connection.close()
/// ```
/// The connection owns the nats.c connection and a few threads for blocking nats.c calls. ``close()`` drains it
/// and frees everything exactly once; calls made after it fail with
/// ``ProtoqueueCodec/ProtoqueueError/Code/connectionClosed``. Disconnects, reconnects, closing and asynchronous server
/// errors are logged to the logger you pass.
public final class NATSConnection: Sendable {
    /// The configuration the connection was made with.
    public let configuration: NATSConnectionConfiguration
    /// The transport the queues on this connection use: a ``NATSClient``, or a ``MemoryBroker`` (`ProtoqueueTesting`).
    let transport: any QueueTransport
    /// The schemas and policies queues on this connection registered (``SchemaGate``).
    let registrations = RegistrationMemory()
    /// What ``close()`` ends before the transport: event outboxes and event subscriptions.
    private let closers = Mutex<[@Sendable () async -> Void]>([])

    private init(transport: any QueueTransport, configuration: NATSConnectionConfiguration) {
        self.transport = transport
        self.configuration = configuration
    }

    /// A connection to an in-memory broker instead of a server (what `ProtoqueueTesting` hands out); its
    /// configuration names the server `memory://`.
    package static func inMemory(_ broker: MemoryBroker) -> NATSConnection {
        NATSConnection(transport: broker, configuration: NATSConnectionConfiguration(servers: ["memory://"]))
    }

    /// Connects to the configured servers.
    /// - Parameters:
    ///   - configuration: Servers, credentials, TLS, timeouts.
    ///   - logger: Where connection events go. The library never bootstraps logging.
    /// - Returns: An open connection.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError`` with ``ProtoqueueCodec/ProtoqueueError/Code/connectionFailed``
    ///   (naming the URLs) when no server answered within ``NATSConnectionConfiguration/connectTimeout``,
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/authenticationFailed`` for refused credentials,
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/tlsFailed`` or
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/invalidConfiguration``.
    public static func connect(
        _ configuration: NATSConnectionConfiguration,
        logger: Logger
    ) async throws(ProtoqueueError) -> NATSConnection {
        let client = try await NATSClient.connect(configuration, logger: logger)
        return NATSConnection(transport: client, configuration: client.configuration)
    }

    /// The largest message (headers plus body) the server accepts, in bytes (as announced by the server the
    /// connection is attached to; 0 once closed).
    public var maxPayload: Int { transport.maxPayload }

    /// Sends the lifecycle events still buffered, drains and closes the connection, then frees it. Safe to call more
    /// than once and from several tasks; only the first call does the work. Waits for calls in progress (at most the
    /// request timeout) first.
    public func close() async {
        let closing = closers.withLock { list in
            defer { list = [] }
            return list
        }
        for close in closing { await close() }
        await transport.close()
    }

    /// Registers something ``close()`` ends before closing the transport.
    func onClose(_ close: @escaping @Sendable () async -> Void) {
        closers.withLock { $0.append(close) }
    }

    /// A new outbox for the lifecycle events of queue `queue` of `layout`, whose tasks are of `taskType`, publishing
    /// on this connection until it closes.
    func makeEventOutbox(
        capacity: Int, queue: String, taskType: String, layout: QueueLayout, logger: Logger
    ) -> EventOutbox {
        let transport = self.transport
        let writer = TaskEventBatchWriter(queue: queue, taskType: taskType)
        let outbox = EventOutbox(capacity: capacity, logger: logger) {
            QueueEvents.publish($0, writer: writer, layout: layout, transport: transport)
        }
        onClose { await outbox.close() }
        return outbox
    }
}
