import CNats
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The nats.c side of a ``NATSConnection``: the connection and its JetStream context, a pool of library threads for
/// blocking calls, and what is opened on first use (the ``BatchedConnection``, the ``ProcessingHub``, the shared
/// ``PublishWindow``). ``close()`` waits for calls in progress, drains and frees everything exactly once; calls made
/// after it fail with ``ProtoqueueError/Code/connectionClosed``. It is the ``QueueTransport`` the queues use.
final class NATSClient: Sendable {
    /// The configuration the connection was made with.
    let configuration: NATSConnectionConfiguration
    let logger: Logger
    let events: ConnectionEvents
    let pool: BlockingThreadPool

    private struct Handles: @unchecked Sendable {
        var connection: OpaquePointer  // natsConnection*
        var options: OpaquePointer  // natsOptions*
        var jetStream: OpaquePointer  // jsCtx*, for synchronous JetStream calls
    }

    private struct State {
        var closed = false
        var activeCalls = 0
        var publisher: PublishWindow?
        /// Set by ``close()`` once no publisher may be made any more.
        var publisherFinished = false
    }

    private let handles: Handles
    private let state = Mutex(State())
    /// The batched sibling connection, once a batch or a processor asked for it (``batchedConnection()``).
    private let batched = Mutex<BatchedConnection?>(nil)
    /// The processors' shared inbox and thread, once a processor asked for it (``processingHub(rawConnection:)``).
    private let hub = Mutex<ProcessingHub?>(nil)
    /// Subscriptions unsubscribed but not yet freed (``retire(_:)``).
    let retired = RetiredSubscriptions()
    /// The streams message reads may be sent to (see ``StoredStreams``).
    let storedStreams = StoredStreams()
    private let idle = ConditionLock()

    private init(
        configuration: NATSConnectionConfiguration, logger: Logger, events: ConnectionEvents, pool: BlockingThreadPool,
        handles: Handles
    ) {
        self.configuration = configuration
        self.logger = logger
        self.events = events
        self.pool = pool
        self.handles = handles
    }

    /// Connects to the configured servers (see ``NATSConnection/connect(_:logger:)``).
    static func connect(
        _ configuration: NATSConnectionConfiguration,
        logger: Logger
    ) async throws(ProtoqueueError) -> NATSClient {
        try validate(configuration)
        let serverList = configuration.servers.joined(separator: ", ")
        let events = ConnectionEvents(
            logger: logger, serverList: serverList, signer: NonceSigner.make(for: configuration.authentication)
        )
        let pool = BlockingThreadPool(label: "protoqueue-nats", threadCount: configuration.blockingThreads)
        do throws(ProtoqueueError) {
            let handles = try await pool.run { () throws(ProtoqueueError) -> Handles in
                let (connection, options) = try openConnection(configuration, events: events)
                var jsPointer: OpaquePointer?
                var jsOptions = jsOptions()
                jsOptions_Init(&jsOptions)
                jsOptions.Wait = configuration.requestTimeout.milliseconds
                let status = natsConnection_JetStream(&jsPointer, connection, &jsOptions)
                guard status == NATS_OK, let js = jsPointer else {
                    natsConnection_Destroy(connection)
                    natsOptions_Destroy(options)
                    throw NATSErrorMapping.error(status: status, operation: "create JetStream context")
                }
                return Handles(connection: connection, options: options, jetStream: js)
            }
            logger.debug("NATS connected", metadata: ["protoqueue.servers": "\(serverList)"])
            let client = NATSClient(
                configuration: configuration, logger: logger, events: events, pool: pool, handles: handles)
            events.setPermissionListener { [weak client] violation in client?.permissionViolation(violation) }
            return client
        } catch {
            pool.shutdownWithoutWaiting()
            throw error
        }
    }

    private static func validate(_ configuration: NATSConnectionConfiguration) throws(ProtoqueueError) {
        guard !configuration.servers.isEmpty else {
            throw ProtoqueueError(.invalidConfiguration, "at least one server URL is required")
        }
        for url in configuration.servers
        where url.isEmpty || url.contains(where: { $0 == " " || $0 == "\n" || $0 == "\r" }) {
            throw ProtoqueueError(.invalidConfiguration, "invalid server URL \"\(url)\"")
        }
        guard configuration.connectTimeout > .zero, configuration.requestTimeout > .zero else {
            throw ProtoqueueError(.invalidConfiguration, "connect and request timeouts must be positive")
        }
        guard configuration.reconnect.bufferSize >= 0 else {
            throw ProtoqueueError(.invalidConfiguration, "reconnect buffer size must not be negative")
        }
        if let tls = configuration.tls, (tls.clientCertificateFile == nil) != (tls.clientKeyFile == nil) {
            throw ProtoqueueError(.invalidConfiguration, "TLS client certificate and key must be given together")
        }
    }

    // MARK: - Calls

    /// Marks a call as in progress so ``close()`` waits for it; throws when the connection is closed.
    func beginCall() throws(ProtoqueueError) {
        let ok = state.withLock { state -> Bool in
            if state.closed { return false }
            state.activeCalls += 1
            return true
        }
        if !ok { throw ProtoqueueError(.connectionClosed, "the connection to \(events.serverList) is closed") }
    }

    func endCall() {
        state.withLock { $0.activeCalls -= 1 }
        idle.broadcast()
    }

    /// Runs `body` on a connection thread with the raw handles, failing if the connection is closed.
    func withHandles<R: Sendable>(
        _ body:
            @escaping @Sendable (_ connection: OpaquePointer, _ jetStream: OpaquePointer) throws(ProtoqueueError) -> R
    ) async throws(ProtoqueueError) -> R {
        try beginCall()
        defer { endCall() }
        let handles = self.handles
        let started = MonotonicClock.nanoseconds()
        do throws(ProtoqueueError) {
            return try await pool.run { () throws(ProtoqueueError) -> R in
                try body(handles.connection, handles.jetStream)
            }
        } catch {
            // A JetStream API request the user may not make is dropped by the server and times out; the cause arrives
            // asynchronously as a permission violation. Report that, not a bare timeout.
            if error.code == .timeout,
                let violation = events.recentViolation(since: started, explaining: .jetStreamAPI)
            {
                let operation = error.operation ?? "a JetStream API call"
                throw NATSErrorMapping.permissionDenied(operation: operation, violation: violation)
            }
            throw error
        }
    }

    /// Whether ``close()`` has been called (long operations check it and stop early).
    var isClosing: Bool { state.withLock { $0.closed } }

    /// The raw connection handle; only valid between ``beginCall()`` and ``endCall()``.
    var rawConnection: OpaquePointer { handles.connection }

    /// The largest message (headers plus body) the server accepts, in bytes (as announced by the server the
    /// connection is attached to; 0 once closed).
    var maxPayload: Int {
        guard (try? beginCall()) != nil else { return 0 }
        defer { endCall() }
        return Int(natsConnection_GetMaxPayload(handles.connection))
    }

    /// ``maxPayload``, or a ``ProtoqueueError/Code/connectionClosed`` error.
    func currentMaxPayload() throws(ProtoqueueError) -> Int {
        try beginCall()
        defer { endCall() }
        return Int(natsConnection_GetMaxPayload(handles.connection))
    }

    /// The connection's ``BatchedConnection``, opened on first use (blocking up to the connect timeout: call on a
    /// library thread, between ``beginCall()`` and ``endCall()``). It is closed with this connection.
    func batchedConnection() throws(ProtoqueueError) -> BatchedConnection {
        try batched.withLock { batched throws(ProtoqueueError) -> BatchedConnection in
            if let batched { return batched }
            let opened = try BatchedConnection.open(like: self)
            batched = opened
            return opened
        }
    }

    /// The connection's ``ProcessingHub``, opened on first use (blocking: call on a library thread, between
    /// ``beginCall()`` and ``endCall()``). It is stopped when this connection closes.
    func processingHub(rawConnection: OpaquePointer) throws(ProtoqueueError) -> ProcessingHub {
        try hub.withLock { hub throws(ProtoqueueError) -> ProcessingHub in
            if let hub { return hub }
            let opened = try ProcessingHub.open(connection: self, rawConnection: rawConnection)
            hub = opened
            return opened
        }
    }

    /// Unsubscribes `subscription` (of this connection or its ``BatchedConnection``) now and frees it a second later,
    /// or when the connection closes (``RetiredSubscriptions``).
    func retire(_ subscription: OpaquePointer) { retired.retire(subscription) }

    /// The connection's ``PublishWindow`` for single publishes (enqueues, replays, dead-letter records), made on
    /// first use.
    /// - Parameter whileClosing: Also once ``close()`` has begun (for the processors' dead-letter records, which
    ///   ``close()`` waits for), until it finishes the publisher.
    func publishWindow(whileClosing: Bool = false) throws(ProtoqueueError) -> PublishWindow {
        let result: Result<PublishWindow, ProtoqueueError> = state.withLock { state in
            if state.closed && !(whileClosing && !state.publisherFinished) {
                return .failure(ProtoqueueError(.connectionClosed, "the connection to \(events.serverList) is closed"))
            }
            if let publisher = state.publisher { return .success(publisher) }
            do throws(ProtoqueueError) {
                let publisher = try PublishWindow(connection: self)
                state.publisher = publisher
                return .success(publisher)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The connection's one permission listener. A violation is reported asynchronously, after the server dropped
    /// the message: the shared publisher fails the pending publishes to its subject at once, and the processing hub
    /// stops the processors it concerns. (Running batches look for violations between turns.)
    private func permissionViolation(_ violation: PermissionViolation) {
        state.withLock { $0.publisher }?.permissionViolation(violation)
        hub.withLock { $0 }?.permissionViolation(violation)
    }

    /// The shared publisher, for ``close()`` to finish; none is made after this.
    private func takePublisher() -> PublishWindow? {
        state.withLock { state -> PublishWindow? in
            defer { state.publisher = nil }
            state.publisherFinished = true
            return state.publisher
        }
    }

    /// Drains and closes the connection, then frees it. Safe to call more than once and from several tasks;
    /// only the first call does the work. Waits for calls in progress (at most the request timeout) first.
    func close() async {
        let first = state.withLock { state -> Bool in
            if state.closed { return false }
            state.closed = true
            return true
        }
        guard first else { return }
        // Running processors stop fetching now; close waits for their handlers and acknowledgements below.
        hub.withLock { $0 }?.connectionClosing()
        let handles = self.handles
        let timeout = configuration.requestTimeout
        let events = self.events
        let pool = self.pool
        let logger = self.logger
        // The blocking part runs on a thread of its own: it shuts the pool down, so it cannot run on the pool.
        _ = try? await BlockingThreadPool.runDedicated(name: "protoqueue-close") {
            [self] () throws(ProtoqueueError) -> Void in
            // Every call is bounded (publish: ack timeout × attempts; batch: stops taking input once closing is
            // seen and waits only for its in-flight acknowledgements), so this wait ends; the handles must stay
            // valid until it does.
            idle.lock()
            while state.withLock({ $0.activeCalls }) > 0 {
                let deadline = MonotonicClock.nanoseconds() + UInt64(timeout.nanoseconds)
                if !idle.wait(untilNanoseconds: deadline) {
                    logger.debug("close: waiting for calls in progress to finish")
                }
            }
            idle.unlock()
            // The hub first: its last commands may publish dead-letter records.
            if let hub = hub.withLock({ $0 }) { retire(hub.stop()) }
            takePublisher()?.finish(waitFor: timeout, retiringWith: self)
            batched.withLock { $0 }?.close()
            jsCtx_Destroy(handles.jetStream)
            events.markClosing()
            let status = natsConnection_DrainTimeout(handles.connection, timeout.milliseconds)
            if status != NATS_OK {
                natsConnection_Close(handles.connection)
            }
            if !events.waitUntilClosed(timeout: timeout + .seconds(1)) {
                logger.warning("NATS connection did not report closed after draining; closing it")
                natsConnection_Close(handles.connection)
                _ = events.waitUntilClosed(timeout: .seconds(2))
            }
            retired.freeAll()
            natsConnection_Destroy(handles.connection)
            natsOptions_Destroy(handles.options)
            pool.shutdown(timeout: .seconds(2))
        }
    }

    deinit {
        let wasClosed = state.withLock { $0.closed }
        if !wasClosed {
            // Not closed by the owner: close without draining so the nats.c resources are not leaked.
            if let hub = hub.withLock({ $0 }) { retire(hub.stop()) }
            takePublisher()?.finish(waitFor: .zero, retiringWith: self)
            batched.withLock { $0 }?.closeNow()
            jsCtx_Destroy(handles.jetStream)
            events.markClosing()
            natsConnection_Close(handles.connection)
            retired.freeAll()
            natsConnection_Destroy(handles.connection)
            natsOptions_Destroy(handles.options)
            pool.shutdownWithoutWaiting()
        }
    }
}
