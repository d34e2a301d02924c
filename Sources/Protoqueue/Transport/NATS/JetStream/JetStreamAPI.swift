import CNats

/// The JetStream API calls the queue's public operations need (stats, peek, dead letters), returning Swift values.
/// Blocking: call them on a connection thread, inside ``NATSClient/withHandles(_:)``. "Not found" answers are
/// `nil` or `false` as ``NATSErrorMapping/isNotFound(_:status:jsCode:)`` decides; any other failure throws the mapped
/// ``ProtoqueueError``.
enum JetStreamAPI {
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
            redelivered: info.pointee.NumRedelivered, waitingPulls: info.pointee.NumWaiting,
            maxAckPending: info.pointee.Config?.pointee.MaxAckPending ?? 0
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
}
