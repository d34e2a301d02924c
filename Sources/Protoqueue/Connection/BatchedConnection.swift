import CNats
import Logging

/// A second nats.c connection made with a ``NATSConnection``'s configuration but without send-asap: nats.c's flusher
/// then writes what is published on it in runs (about a millisecond after the first unflushed publish) instead of
/// one socket write per message.
///
/// ``NATSConnection/batchedConnection()`` opens one when it is first needed and closes it with the connection.
/// `enqueueBatch` publishes its tasks on it, and processors their acknowledgements and pull requests (which a
/// processor has written at once with ``flush()``): one socket write per message cost the client and the server
/// more than the rest of the work (see `docs/queue.md` and `docs/processing.md`). Single enqueues, confirmed
/// acknowledgements and dead-letter publishes stay on the send-asap connection. Its permission violations reach the
/// listeners of the connection it was made like.
final class BatchedConnection: Sendable {
    /// The `natsConnection*`; valid until ``close()``, which runs only once no call is in progress on the
    /// ``NATSConnection`` that owns it.
    nonisolated(unsafe) let raw: OpaquePointer
    /// Its callbacks: permission violations, disconnects, reconnects, closing.
    let events: ConnectionEvents
    private nonisolated(unsafe) let options: OpaquePointer  // natsOptions*
    private let flushTimeout: Duration

    private init(raw: OpaquePointer, options: OpaquePointer, events: ConnectionEvents, flushTimeout: Duration) {
        self.raw = raw
        self.options = options
        self.events = events
        self.flushTimeout = flushTimeout
    }

    /// Connects to `connection`'s servers with its configuration, send-asap off. Blocks: call on a library thread.
    /// - Parameter purpose: What it carries, for its log lines (`protoqueue.connection`).
    static func open(like connection: NATSConnection, purpose: String) throws(ProtoqueueError) -> BatchedConnection {
        var configuration = connection.configuration
        configuration.sendAsap = false
        var logger = connection.logger
        logger[metadataKey: "protoqueue.connection"] = "\(purpose)"
        let events = ConnectionEvents(logger: logger, serverList: connection.events.serverList, violationsGoTo: connection.events)
        let (raw, options) = try NATSConnection.openConnection(configuration, events: events)
        return BatchedConnection(raw: raw, options: options, events: events, flushTimeout: configuration.requestTimeout)
    }

    /// Waits until the server has read everything published so far (a PING round trip, at most the request
    /// timeout). Blocks: call on a library thread.
    func flush() {
        let status = natsConnection_FlushTimeout(raw, flushTimeout.milliseconds)
        if status != NATS_OK {
            events.logger.warning(
                "no answer to a PING within the request timeout (disconnected?); messages the server did not get are sent after the reconnect or, for acknowledgements, come back after the ack wait",
                metadata: ["protoqueue.status": "\(String(cString: natsStatus_GetText(status)))"]
            )
        }
    }

    /// Flushes (``flush()``), then closes and frees the connection. Blocks: call on a library thread.
    func close() {
        flush()
        events.markClosing()
        natsConnection_Close(raw)
        _ = events.waitUntilClosed(timeout: .seconds(2))
        natsConnection_Destroy(raw)
        natsOptions_Destroy(options)
    }

    /// Closes and frees the connection without waiting (for a ``NATSConnection`` freed without being closed).
    func closeNow() {
        events.markClosing()
        natsConnection_Close(raw)
        natsConnection_Destroy(raw)
        natsOptions_Destroy(options)
    }
}
