public import Foundation

/// A task as stored in the stream, decoded, with what its headers say.
public struct StoredTask<Message: ProtoqueueMessage>: Sendable {
    /// The task id; `nil` for a message a producer stored without one (`Nats-Msg-Id`).
    public var id: TaskID?
    /// The stream sequence.
    public var sequence: UInt64
    /// The subject it was published to.
    public var subject: String
    /// When it was enqueued (`Protoqueue-Enqueued-At`), `nil` when the producer did not say.
    public var enqueuedAt: Date?
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
        let headers = TaskHeaders(raw.firstHeaderValues)
        if let type = headers.type, type != Message.protoMessageName {
            throw ProtoqueueError(
                .decodingFailed,
                "message \(sequence) of stream \"\(stream)\" is a \(type), not a \(Message.protoMessageName)")
        }
        return StoredTask(
            id: headers.id, sequence: sequence, subject: raw.subject, enqueuedAt: headers.enqueuedAt,
            metadata: headers.metadata, task: try Message(serializedBytes: raw.body)
        )
    }
}
