import CNats

/// The JetStream API calls the queue's public operations need (stats, peek, dead letters), returning Swift values.
/// Blocking: call them on a connection thread, inside ``NATSConnection/withHandles(_:)``. "Not found" answers are
/// `nil` or `false` as ``NATSErrorMapping/isNotFound(_:status:jsCode:)`` decides; any other failure throws the mapped
/// ``ProtoqueueError``.
enum JetStreamAPI {
    /// A stream's state.
    struct StreamState: Sendable {
        var messages: UInt64
        var bytes: UInt64
        var firstSequence: UInt64
        var lastSequence: UInt64
        var consumerCount: Int
    }

    /// A consumer's counters.
    struct ConsumerState: Sendable {
        var pending: UInt64
        var ackPending: Int64
        var redelivered: Int64
        var waitingPulls: Int64
    }

    /// A message read from a stream by sequence.
    struct StoredMessage: Sendable {
        var subject: String
        var body: [UInt8]
        /// Every header with all its values, in order.
        var headers: [(name: String, value: String)]

        /// The first value of each header.
        var firstHeaderValues: [String: String] {
            var first: [String: String] = [:]
            for (name, value) in headers where first[name] == nil { first[name] = value }
            return first
        }
    }

    /// The state of `stream`, or `nil` when there is no such stream.
    static func streamState(_ js: OpaquePointer, stream: String) throws(ProtoqueueError) -> StreamState? {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jerr = jsErrCode(0)
        let status = js_GetStreamInfo(&info, js, stream, nil, &jerr)
        defer { if let info { jsStreamInfo_Destroy(info) } }
        guard status == NATS_OK, let info else {
            if NATSErrorMapping.isNotFound(.stream, status: status, jsCode: Int(jerr.rawValue)) { return nil }
            throw NATSErrorMapping.error(
                status: status, jsCode: Int(jerr.rawValue), operation: "read stream \"\(stream)\"")
        }
        let state = info.pointee.State
        return StreamState(
            messages: state.Msgs, bytes: state.Bytes, firstSequence: state.FirstSeq, lastSequence: state.LastSeq,
            consumerCount: Int(state.Consumers)
        )
    }

    /// The counters of `consumer` on `stream`; throws when either is missing.
    static func consumerState(
        _ js: OpaquePointer, stream: String, consumer: String
    ) throws(ProtoqueueError) -> ConsumerState {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var jerr = jsErrCode(0)
        let status = js_GetConsumerInfo(&info, js, stream, consumer, nil, &jerr)
        defer { if let info { jsConsumerInfo_Destroy(info) } }
        guard status == NATS_OK, let info else {
            throw NATSErrorMapping.error(
                status: status, jsCode: Int(jerr.rawValue), operation: "read consumer \"\(consumer)\""
            )
        }
        return ConsumerState(
            pending: info.pointee.NumPending, ackPending: info.pointee.NumAckPending,
            redelivered: info.pointee.NumRedelivered, waitingPulls: info.pointee.NumWaiting
        )
    }

    /// The message at `sequence` of `stream`, or `nil` when there is none (deleted, or past the end).
    static func message(
        _ js: OpaquePointer, stream: String, sequence: UInt64, operation: String
    ) throws(ProtoqueueError) -> StoredMessage? {
        var message: OpaquePointer?
        var jerr = jsErrCode(0)
        let status = js_GetMsg(&message, js, stream, sequence, nil, &jerr)
        guard status == NATS_OK, let message else {
            if NATSErrorMapping.isNotFound(.message, status: status, jsCode: Int(jerr.rawValue)) { return nil }
            throw NATSErrorMapping.error(status: status, jsCode: Int(jerr.rawValue), operation: operation)
        }
        defer { natsMsg_Destroy(message) }
        return StoredMessage(
            subject: NATSMessageReader.subject(message), body: NATSMessageReader.body(message),
            headers: NATSMessageReader.headers(message)
        )
    }

    /// Deletes the message at `sequence` of `stream`.
    /// - Returns: `false` when there was no such message.
    @discardableResult
    static func deleteMessage(
        _ js: OpaquePointer, stream: String, sequence: UInt64, operation: String
    ) throws(ProtoqueueError) -> Bool {
        var jerr = jsErrCode(0)
        let status = js_DeleteMsg(js, stream, sequence, nil, &jerr)
        if status == NATS_OK { return true }
        if NATSErrorMapping.isNotFound(.message, status: status, jsCode: Int(jerr.rawValue)) { return false }
        throw NATSErrorMapping.error(status: status, jsCode: Int(jerr.rawValue), operation: operation)
    }

    /// Removes every message of `stream`.
    static func purge(_ js: OpaquePointer, stream: String, operation: String) throws(ProtoqueueError) {
        var jerr = jsErrCode(0)
        let status = js_PurgeStream(js, stream, nil, &jerr)
        guard status == NATS_OK else {
            throw NATSErrorMapping.error(status: status, jsCode: Int(jerr.rawValue), operation: operation)
        }
    }

    /// What the server answered to a stored publish.
    struct PublishAck: Sendable {
        var stream: String
        var sequence: UInt64
        var duplicate: Bool
    }

    /// Publishes `prepared` and waits for the server to store it (at most the context's request timeout).
    static func publish(
        _ js: OpaquePointer, _ prepared: PreparedMessage, operation: String
    ) throws(ProtoqueueError) -> PublishAck {
        let message = try prepared.makeMessage()
        defer { message.destroy() }
        var ack: UnsafeMutablePointer<jsPubAck>?
        var jerr = jsErrCode(0)
        let status = js_PublishMsg(&ack, js, message.pointer, nil, &jerr)
        defer { if let ack { jsPubAck_Destroy(ack) } }
        guard status == NATS_OK, let ack else {
            throw NATSErrorMapping.error(
                status: status, jsCode: Int(jerr.rawValue), operation: operation, subject: prepared.subject
            )
        }
        return PublishAck(
            stream: ack.pointee.Stream.map { String(cString: $0) } ?? "", sequence: ack.pointee.Sequence,
            duplicate: ack.pointee.Duplicate
        )
    }
}
