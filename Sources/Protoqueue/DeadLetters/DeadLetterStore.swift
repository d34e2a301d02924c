/// Reads and writes of a queue's dead-letter stream through its transport.
struct DeadLetterStore: Sendable {
    let transport: any QueueTransport
    let layout: QueueLayout

    private var stream: String { layout.deadLetterStreamName }

    /// First and last sequence and number of records.
    func bounds() async throws(ProtoqueueError) -> (first: UInt64, last: UInt64, count: UInt64) {
        guard let state = try await transport.streamState(stream) else {
            throw ProtoqueueError(.streamNotFound, "read dead-letter stream \"\(stream)\": stream not found")
        }
        return (state.firstSequence, state.lastSequence, state.messages)
    }

    /// The record at `sequence`, or `nil` when it was deleted.
    func get(sequence: UInt64) async throws(ProtoqueueError) -> RawRecord? {
        let operation = "read dead-letter record \(sequence) of \"\(stream)\""
        return try await transport.message(stream: stream, sequence: sequence, operation: operation).map(Self.record)
    }

    /// The first record at `sequence` or after it (deleted ones skipped by the server), or `nil` when there is none.
    func first(atOrAfter sequence: UInt64) async throws(ProtoqueueError) -> RawRecord? {
        let operation = "read the dead-letter record at or after \(sequence) of \"\(stream)\""
        return try await transport.message(stream: stream, atOrAfter: sequence, subject: ">", operation: operation).map(
            Self.record)
    }

    /// A stored message as a record.
    private static func record(_ stored: StoredMessage) -> RawRecord {
        RawRecord(
            sequence: stored.sequence, subject: stored.subject, payload: stored.body,
            headers: stored.firstHeaderValues, allHeaders: stored.headers)
    }

    /// The record at `sequence`.
    /// - Throws: ``ProtoqueueError/Code/streamNotFound`` when there is none.
    func existing(sequence: UInt64) async throws(ProtoqueueError) -> RawRecord {
        guard let record = try await get(sequence: sequence) else {
            throw ProtoqueueError(.streamNotFound, "no dead-letter record \(sequence) in stream \"\(stream)\"")
        }
        return record
    }

    /// Republishes the record's task to its original subject (fresh attempt count) through the transport's
    /// publisher, which re-sends under the same `Nats-Msg-Id` after a timeout; then deletes the record.
    func replay(_ record: RawRecord) async throws(ProtoqueueError) -> EnqueueReceipt {
        var subject = record.headers[WireFormat.DeadLetterHeader.subject] ?? layout.readySubject
        if !subject.hasPrefix(layout.subject + ".ready.") { subject = layout.readySubject }
        let taskID = DeadLetterRecord.taskID(headers: record.headers)
        var headers = DeadLetterRecord.replayedHeaders(of: record.allHeaders)
        if let taskID { headers.append((WireFormat.taskIDHeader, taskID.rawValue)) }
        headers.append((WireFormat.replayedFromHeader, "\(stream):\(record.sequence)"))
        let messageID = WireFormat.replayMessageID(deadLetterStream: stream, sequence: record.sequence)
        headers.append((WireFormat.Header.messageID, messageID))
        let prepared = PreparedMessage(
            subject: subject, headers: headers, body: record.payload, id: TaskID(messageID))
        var receipt = try await transport.publish(prepared, maxAttempts: 3)
        receipt.id = taskID ?? TaskID(messageID)
        if receipt.stream.isEmpty { receipt.stream = layout.streamName }
        try await transport.deleteMessage(
            stream: stream, sequence: record.sequence,
            operation: "delete replayed dead-letter record \(record.sequence)"
        )
        return receipt
    }

    /// Deletes every record.
    func purge() async throws(ProtoqueueError) {
        try await transport.purge(stream: stream, operation: "purge dead-letter stream \"\(stream)\"")
    }
}
