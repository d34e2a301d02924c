import CNats
import Synchronization

/// The streams a connection has seen store a message: the only ones its message reads are sent to.
///
/// nats-server 2.9.0 to 2.9.14 lists a new stream (its info answers, with an empty state) before the stream's
/// storage exists. A message read (`$JS.API.STREAM.MSG.GET`) or a subject listing (stream info with a subject
/// filter) that arrives then crashes the whole server (a nil store in `jsMsgGetRequest`). It happens whenever another
/// client creates the stream at that moment, as workers starting together on a fresh server do with the registry.
/// So a read asks the stream's info first: a stream that never stored a message (last sequence 0) has nothing to
/// read, and the read answers empty without asking; once the info shows a stored message, the storage exists for
/// good and the stream is remembered. The API level cannot tell 2.9.10 from later 2.9 and 2.10 servers, so they pay
/// the one info request per stream as well.
final class StoredStreams: Sendable {
    private let seen = Mutex<Set<String>>([])

    /// Whether a read of `stream` may be sent: `false` when the stream has never stored a message.
    /// - Throws: What the stream's info request failed with (a missing stream included), named by `operation`.
    func mayRead(_ stream: String, js: OpaquePointer, operation: String) throws(ProtoqueueError) -> Bool {
        if seen.withLock({ $0.contains(stream) }) { return true }
        guard let state = try JetStreamAPI.streamState(js, stream: stream, operation: operation) else {
            // What the read itself would have answered.
            throw NATSErrorMapping.error(
                status: NATS_NOT_FOUND, jsCode: NATSErrorMapping.JetStreamCode.streamNotFound, operation: operation)
        }
        guard state.lastSequence > 0 else { return false }
        seen.withLock { _ = $0.insert(stream) }
        return true
    }
}
