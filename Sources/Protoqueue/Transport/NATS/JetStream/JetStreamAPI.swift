import CNats

/// The JetStream API calls the queue's public operations need (stats, peek, dead letters), returning Swift values.
/// Blocking: call them on a connection thread, inside ``NATSClient/withHandles(_:)``. "Not found" answers are
/// `nil` or `false` as ``NATSErrorMapping/isNotFound(_:status:jsCode:)`` decides; any other failure throws the mapped
/// ``ProtoqueueError``.
enum JetStreamAPI {
    /// The state of `stream`, or `nil` when there is no such stream; other failures are named by `operation`
    /// (reading the stream by default).
    static func streamState(
        _ js: OpaquePointer, stream: String, operation: String? = nil
    ) throws(ProtoqueueError) -> StreamState? {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jerr = jsErrCode(0)
        let status = js_GetStreamInfo(&info, js, stream, nil, &jerr)
        defer { if let info { jsStreamInfo_Destroy(info) } }
        guard status == NATS_OK, let info else {
            if NATSErrorMapping.isNotFound(.stream, status: status, jsCode: Int(jerr.rawValue)) { return nil }
            throw NATSErrorMapping.error(
                status: status, jsCode: Int(jerr.rawValue), operation: operation ?? "read stream \"\(stream)\"")
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
            maxAckPending: info.pointee.Config?.pointee.MaxAckPending ?? 0,
            deliveredSequence: info.pointee.Delivered.Stream, ackFloorSequence: info.pointee.AckFloor.Stream
        )
    }

    /// The message at `sequence` of `stream`, or `nil` when there is none (deleted, or past the end).
    static func message(
        _ js: OpaquePointer, stream: String, sequence: UInt64, operation: String
    ) throws(ProtoqueueError) -> StoredMessage? {
        try read(operation: operation) { message, jerr in js_GetMsg(&message, js, stream, sequence, nil, &jerr) }
    }

    /// The last message on `subject` of `stream`, or `nil` when the subject has none.
    static func lastMessage(
        _ js: OpaquePointer, stream: String, subject: String, operation: String
    ) throws(ProtoqueueError) -> StoredMessage? {
        try read(operation: operation) { message, jerr in js_GetLastMsg(&message, js, stream, subject, nil, &jerr) }
    }

    /// The message a get call returns, as Swift values; `nil` when the server has no such message.
    private static func read(
        operation: String, _ get: (inout OpaquePointer?, inout jsErrCode) -> natsStatus
    ) throws(ProtoqueueError) -> StoredMessage? {
        var message: OpaquePointer?
        var jerr = jsErrCode(0)
        let status = get(&message, &jerr)
        guard status == NATS_OK, let message else {
            if NATSErrorMapping.isNotFound(.message, status: status, jsCode: Int(jerr.rawValue)) { return nil }
            throw NATSErrorMapping.error(status: status, jsCode: Int(jerr.rawValue), operation: operation)
        }
        defer { natsMsg_Destroy(message) }
        return StoredMessage(
            subject: NATSMessageReader.subject(message), body: NATSMessageReader.body(message),
            headers: NATSMessageReader.headers(message), sequence: natsMsg_GetSequence(message)
        )
    }

    /// The subjects of `stream` matching `filter` (wildcards allowed) that hold messages, with their counts.
    static func subjectCounts(
        _ js: OpaquePointer, stream: String, filter: String, operation: String
    ) throws(ProtoqueueError) -> [String: UInt64] {
        let result = filter.withCString { filter -> Result<[String: UInt64], ProtoqueueError> in
            var options = jsOptions()
            jsOptions_Init(&options)
            options.Stream.Info.SubjectsFilter = filter
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var jerr = jsErrCode(0)
            let status = js_GetStreamInfo(&info, js, stream, &options, &jerr)
            defer { if let info { jsStreamInfo_Destroy(info) } }
            guard status == NATS_OK, let info else {
                return .failure(
                    NATSErrorMapping.error(status: status, jsCode: Int(jerr.rawValue), operation: operation))
            }
            var counts: [String: UInt64] = [:]
            if let subjects = info.pointee.State.Subjects {
                for index in 0..<Int(subjects.pointee.Count) {
                    let entry = subjects.pointee.List[index]
                    if let name = entry.Subject { counts[String(cString: name)] = entry.Msgs }
                }
            }
            return .success(counts)
        }
        return try result.get()
    }

    /// Removes the messages on `subject` (wildcards allowed) of `stream`.
    static func purge(
        _ js: OpaquePointer, stream: String, subject: String, operation: String
    ) throws(ProtoqueueError) {
        let failure = subject.withCString { subject -> ProtoqueueError? in
            var options = jsOptions()
            jsOptions_Init(&options)
            options.Stream.Purge.Subject = subject
            var jerr = jsErrCode(0)
            let status = js_PurgeStream(js, stream, &options, &jerr)
            guard status == NATS_OK else {
                return NATSErrorMapping.error(status: status, jsCode: Int(jerr.rawValue), operation: operation)
            }
            return nil
        }
        if let failure { throw failure }
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

    /// Deletes consumer `consumer` of `stream`; `false` when there was none.
    static func deleteConsumer(
        _ js: OpaquePointer, stream: String, consumer: String, operation: String
    ) throws(ProtoqueueError) -> Bool {
        var jerr = jsErrCode(0)
        let status = js_DeleteConsumer(js, stream, consumer, nil, &jerr)
        if status == NATS_OK { return true }
        if NATSErrorMapping.isNotFound(.consumer, status: status, jsCode: Int(jerr.rawValue)) { return false }
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
