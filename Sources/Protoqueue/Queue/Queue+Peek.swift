/// A task as stored in the stream, decoded, with what its headers say.
public struct StoredTask<Message: ProtoqueueMessage>: Sendable {
    /// The task id (`Nats-Msg-Id`).
    public var id: String
    /// The stream sequence.
    public var sequence: UInt64
    /// The subject it was published to.
    public var subject: String
    /// The enqueue time in Unix milliseconds (`Protoqueue-Enqueued-At`), if present and valid.
    public var enqueuedAtUnixMilliseconds: Int64?
    /// The metadata (`Protoqueue-Meta-*` headers, prefix removed).
    public var metadata: [String: String]
    /// The decoded task.
    public var task: Message
}

extension Queue {
    /// Reads the task stored at `sequence` without consuming it (JetStream direct read of one message).
    /// - Parameter sequence: A stream sequence, such as ``EnqueueReceipt/sequence``.
    /// - Returns: The decoded task and its headers.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` when no message has that sequence (or it
    ///   was consumed), ``/ProtoqueueCodec/ProtoqueueError/Code/decodingFailed`` when the body is not a `Message` or
    ///   `Protoqueue-Type` names another type.
    public func peek(sequence: UInt64) async throws(ProtoqueueError) -> StoredTask<Message> {
        let stream = layout.streamName
        let operation = "read message \(sequence) of stream \"\(stream)\""
        guard
            let raw = try await connection.transport.message(stream: stream, sequence: sequence, operation: operation)
        else { throw ProtoqueueError(.streamNotFound, "\(operation): no such message") }
        let (subject, body, headers) = (raw.subject, raw.body, raw.firstHeaderValues)
        if let type = headers[WireFormat.Header.messageType], type != Message.protoMessageName {
            throw ProtoqueueError(
                .decodingFailed,
                "message \(sequence) of stream \"\(stream)\" is a \(type), not a \(Message.protoMessageName)")
        }
        let task = try Message(serializedBytes: body)
        var metadata: [String: String] = [:]
        for (key, value) in headers where key.hasPrefix(WireFormat.metadataPrefix) {
            metadata[String(key.dropFirst(WireFormat.metadataPrefix.count))] = value
        }
        return StoredTask(
            id: headers[WireFormat.Header.messageID] ?? "",
            sequence: sequence,
            subject: subject,
            enqueuedAtUnixMilliseconds: headers[WireFormat.Header.enqueuedAt].flatMap { Int64($0) },
            metadata: metadata,
            task: task
        )
    }
}
