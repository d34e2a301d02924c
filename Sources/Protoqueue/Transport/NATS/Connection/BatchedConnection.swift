import CNats
import Foundation
import Logging

/// A second nats.c connection made with a ``NATSClient``'s configuration but without send-asap: nats.c's flusher
/// then writes what is published on it in runs (about a millisecond after the first unflushed publish) instead of
/// one socket write per message.
///
/// ``NATSClient/batchedConnection()`` opens one when it is first needed and closes it with the connection.
/// `enqueueBatch` publishes its tasks on it, and processors their acknowledgements and pull requests: one socket
/// write per message cost the client and the server more than the rest of the work (see `docs/queue.md` and
/// `docs/processing.md`). Whoever is about to wait for an answer to what it buffered (a batch waiting for
/// acknowledgements, a processor that sent a pull request) calls ``requestWrite()``, so the buffer leaves at once
/// instead of within the flusher's millisecond. Single enqueues, confirmed acknowledgements and dead-letter publishes
/// stay on the send-asap connection. Its permission violations reach the listeners of the connection it was made
/// like; its log lines carry `protoqueue.connection=batched`.
final class BatchedConnection: @unchecked Sendable {  // mutable state guarded by writeLock
    /// The `natsConnection*`; valid until ``close()``, which runs only once no call is in progress on the
    /// ``NATSClient`` that owns it.
    nonisolated(unsafe) let raw: OpaquePointer
    /// Its callbacks: permission violations, disconnects, reconnects, closing.
    let events: ConnectionEvents
    private nonisolated(unsafe) let options: OpaquePointer  // natsOptions*
    private let flushTimeout: Duration

    // The write thread's state, guarded by writeLock.
    private let writeLock = ConditionLock()
    private var writeRequested = false
    /// The number of the write that ``requestWrite()`` asks for: incremented by each request while none waits.
    private var requestedWrite: UInt64 = 0
    private var writeListener: (@Sendable (UInt64) -> Void)?
    private var writerStopping = false
    private var writerDone = false

    private init(raw: OpaquePointer, options: OpaquePointer, events: ConnectionEvents, flushTimeout: Duration) {
        self.raw = raw
        self.options = options
        self.events = events
        self.flushTimeout = flushTimeout
    }

    /// Connects to `connection`'s servers with its configuration, send-asap off. Blocks: call on a library thread.
    static func open(like connection: NATSClient) throws(ProtoqueueError) -> BatchedConnection {
        var configuration = connection.configuration
        configuration.sendAsap = false
        var logger = connection.logger
        logger[metadataKey: "protoqueue.connection"] = "batched"
        let events = ConnectionEvents(
            logger: logger, serverList: connection.events.serverList, violationsGoTo: connection.events,
            signer: NonceSigner.make(for: configuration.authentication)
        )
        let (raw, options) = try NATSClient.openConnection(configuration, events: events)
        let batched = BatchedConnection(
            raw: raw, options: options, events: events, flushTimeout: configuration.requestTimeout)
        let writer = Thread { batched.writeLoop() }
        writer.name = "protoqueue-write"
        writer.stackSize = 1 << 20
        writer.start()
        return batched
    }

    /// Has everything published so far written to the socket soon (by the write thread, which sends a PING and
    /// waits for its answer; nats.c writes what is buffered before the PING along with it), without waiting.
    /// - Returns: The write's number: once the write listener (``onWrite(_:)``) is called with it or a higher one,
    ///   the server has read what was published before this call.
    @discardableResult
    func requestWrite() -> UInt64 {
        writeLock.withLock {
            if !writeRequested {
                writeRequested = true
                requestedWrite += 1
                writeLock.broadcast()
            }
            return requestedWrite
        }
    }

    /// Whether everything published so far has been written to the socket: connected, and nothing buffered. (While
    /// reconnecting, nats.c keeps what is published in a buffer of its own that this count does not include.)
    func isEmpty() -> Bool {
        natsConnection_Status(raw) == NATS_CONN_STATUS_CONNECTED && natsConnection_Buffered(raw) == 0
    }

    /// Calls `listener` on the write thread after each write the server answered, with its number
    /// (``requestWrite()``). One listener: the connection's processing hub.
    func onWrite(_ listener: @escaping @Sendable (UInt64) -> Void) {
        writeLock.withLock { writeListener = listener }
    }

    /// The write thread: one ``flush()`` per run of ``requestWrite()`` calls, until the connection closes.
    private func writeLoop() {
        while true {
            writeLock.lock()
            while !writeRequested && !writerStopping { writeLock.wait() }
            let write = writeRequested
            writeRequested = false
            let number = requestedWrite
            let listener = writeListener
            writeLock.unlock()
            guard write else { break }
            // A write the server did not answer (disconnected, or stalled) is not reported: what it carried may
            // still be buffered.
            if flush() { listener?(number) }
        }
        writeLock.withLock {
            writerDone = true
            writeLock.broadcast()
        }
    }

    /// Ends the write thread (after the write it may be doing) and waits for it.
    private func stopWriter() {
        writeLock.lock()
        writerStopping = true
        writeLock.broadcast()
        while !writerDone { writeLock.wait() }
        writeLock.unlock()
    }

    /// Waits until the server has read everything published so far (a PING round trip, at most the request
    /// timeout). Blocks: call on a library thread.
    /// - Returns: Whether the server answered.
    @discardableResult
    func flush() -> Bool {
        let status = natsConnection_FlushTimeout(raw, flushTimeout.milliseconds)
        if status != NATS_OK {
            events.logger.warning(
                """
                no answer to a PING within the request timeout (disconnected?); messages the server did not get are \
                sent after the reconnect or, for acknowledgements, come back after the ack wait
                """,
                metadata: ["protoqueue.status": "\(String(cString: natsStatus_GetText(status)))"]
            )
        }
        return status == NATS_OK
    }

    /// Stops the write thread, flushes (``flush()``), then closes and frees the connection. Blocks: call on a
    /// library thread.
    func close() {
        stopWriter()
        flush()
        events.markClosing()
        natsConnection_Close(raw)
        _ = events.waitUntilClosed(timeout: .seconds(2))
        natsConnection_Destroy(raw)
        natsOptions_Destroy(options)
    }

    /// Closes and frees the connection without flushing (for a ``NATSClient`` freed without being closed).
    func closeNow() {
        events.markClosing()
        natsConnection_Close(raw)
        stopWriter()
        natsConnection_Destroy(raw)
        natsOptions_Destroy(options)
    }
}
