import Foundation

/// One record of the dead-letter stream: the failed task as it was, and why it failed.
///
/// ## Overview
/// ```swift
/// for record in try await queue.deadLetters() {
///     print(record.sequence, record.reason, record.error, record.task?.to ?? "<undecodable>")
/// }
/// try await queue.replayDeadLetter(sequence: record.sequence)
/// ```
public struct DeadLetter<Message: ProtoqueueMessage>: Sendable {
    /// The record's sequence in the dead-letter stream (what ``Queue/replayDeadLetter(sequence:)`` takes).
    public var sequence: UInt64
    /// The task decoded as `Message`, or `nil` when the payload does not decode (see ``decodeError``).
    public var task: Message?
    /// Why ``task`` is `nil`.
    public var decodeError: ProtoqueueError?
    /// The original payload bytes, unchanged.
    public var payload: [UInt8]
    /// Every header of the record (first value of each): the original task's and the `Protoqueue-DLQ-*` ones.
    public var headers: [String: String]
    /// The task id, when the producer set one.
    public var taskID: String?
    /// Why it was dead-lettered.
    public var reason: DeadLetterReason
    /// The error text.
    public var error: String
    /// The failure details (`Protoqueue-DLQ-Detail-*`).
    public var details: [String: String]
    /// Deliveries the task had.
    public var attempts: Int
    /// The subject the task was published to.
    public var originalSubject: String
    /// The work stream that held it.
    public var originalStream: String
    /// Its sequence there.
    public var originalSequence: UInt64
    /// When it was dead-lettered.
    public var failedAt: Date?
}

extension Queue {
    /// Lists dead-letter records, oldest first.
    /// - Parameters:
    ///   - limit: At most this many records.
    ///   - fromSequence: Start at this dead-letter sequence (inclusive); `nil` starts at the oldest.
    /// - Returns: The records; typed decode when possible, raw bytes and headers always.
    /// - Throws: ``ProtoqueueError/Code/streamNotFound`` when dead letters are disabled or the stream is missing.
    public func deadLetters(limit: Int = 100, fromSequence: UInt64? = nil) async throws(ProtoqueueError) -> [DeadLetter<Message>] {
        let layout = self.layout
        let raw = try await connection.withHandles { _, js throws(ProtoqueueError) -> [RawRecord] in
            let (first, last, count) = try DeadLetterStore.bounds(js: js, stream: layout.deadLetterStreamName)
            var records: [RawRecord] = []
            guard count > 0, limit > 0 else { return records }
            var sequence = max(first, fromSequence ?? first)
            while sequence <= last && records.count < limit {
                if let record = try DeadLetterStore.get(js: js, stream: layout.deadLetterStreamName, sequence: sequence) {
                    records.append(record)
                }
                sequence += 1
            }
            return records
        }
        return raw.map(decode)
    }

    /// Reads one dead-letter record.
    /// - Parameter sequence: Its sequence in the dead-letter stream.
    /// - Returns: The record.
    /// - Throws: ``ProtoqueueError/Code/streamNotFound`` when there is no such record.
    public func deadLetter(sequence: UInt64) async throws(ProtoqueueError) -> DeadLetter<Message> {
        let layout = self.layout
        let raw = try await connection.withHandles { _, js throws(ProtoqueueError) -> RawRecord in
            guard let record = try DeadLetterStore.get(js: js, stream: layout.deadLetterStreamName, sequence: sequence) else {
                throw ProtoqueueError(.streamNotFound, "no dead-letter record \(sequence) in stream \"\(layout.deadLetterStreamName)\"")
            }
            return record
        }
        return decode(raw)
    }

    /// Puts a dead-lettered task back in the work stream with a fresh attempt count, then deletes the record.
    ///
    /// The task is republished to its original subject with its original payload and headers, its id in
    /// `Protoqueue-Task-Id`, and `Nats-Msg-Id` = `replay:<dead-letter stream>:<sequence>`: a replay interrupted
    /// between the publish and the delete can be repeated (within the duplicate window) without storing the task
    /// twice.
    /// - Parameter sequence: The record's sequence in the dead-letter stream.
    /// - Returns: The receipt of the republished task.
    /// - Throws: ``ProtoqueueError/Code/streamNotFound`` when there is no such record, or a publish error.
    @discardableResult
    public func replayDeadLetter(sequence: UInt64) async throws(ProtoqueueError) -> EnqueueReceipt {
        let layout = self.layout
        return try await connection.withHandles { _, js throws(ProtoqueueError) -> EnqueueReceipt in
            guard let record = try DeadLetterStore.get(js: js, stream: layout.deadLetterStreamName, sequence: sequence) else {
                throw ProtoqueueError(.streamNotFound, "no dead-letter record \(sequence) in stream \"\(layout.deadLetterStreamName)\"")
            }
            return try DeadLetterStore.replay(js: js, record: record, layout: layout)
        }
    }

    /// Replays every dead-letter record (see ``replayDeadLetter(sequence:)``), oldest first.
    /// - Returns: How many tasks were put back.
    /// - Throws: The first error; records replayed before it stay replayed.
    @discardableResult
    public func replayAllDeadLetters() async throws(ProtoqueueError) -> Int {
        var replayed = 0
        var next: UInt64? = nil
        while true {
            let batch = try await deadLetters(limit: 256, fromSequence: next)
            guard let last = batch.last else { return replayed }
            for record in batch {
                try await replayDeadLetter(sequence: record.sequence)
                replayed += 1
            }
            next = last.sequence + 1
        }
    }

    /// Deletes every dead-letter record.
    /// - Returns: How many records there were.
    /// - Throws: ``ProtoqueueError/Code/streamNotFound`` when dead letters are disabled, or a connection error.
    @discardableResult
    public func purgeDeadLetters() async throws(ProtoqueueError) -> UInt64 {
        let layout = self.layout
        return try await connection.withHandles { _, js throws(ProtoqueueError) -> UInt64 in
            let (_, _, count) = try DeadLetterStore.bounds(js: js, stream: layout.deadLetterStreamName)
            try JetStreamAPI.purge(
                js, stream: layout.deadLetterStreamName,
                operation: "purge dead-letter stream \"\(layout.deadLetterStreamName)\""
            )
            return count
        }
    }

    private func decode(_ raw: RawRecord) -> DeadLetter<Message> {
        let headers = raw.headers
        var task: Message?
        var decodeError: ProtoqueueError?
        if let type = headers[WireFormat.Header.messageType], type != Message.protoMessageName {
            decodeError = ProtoqueueError(.decodingFailed, "message type \(type), expected \(Message.protoMessageName)")
        } else {
            do throws(ProtoqueueError) {
                task = try Message(serializedBytes: raw.payload)
            } catch {
                decodeError = error
            }
        }
        let record = DeadLetterRecord(headers: headers)
        return DeadLetter(
            sequence: raw.sequence,
            task: task,
            decodeError: decodeError,
            payload: raw.payload,
            headers: headers,
            taskID: DeadLetterRecord.taskID(headers: headers),
            reason: record.reason,
            error: record.error,
            details: record.details,
            attempts: Int(clamping: record.attempts),
            originalSubject: record.subject,
            originalStream: record.stream,
            originalSequence: record.sequence,
            failedAt: record.failedAt.map { Date(timeIntervalSince1970: Double($0) / 1000) }
        )
    }
}

/// A dead-letter record as stored.
struct RawRecord: Sendable {
    var sequence: UInt64
    var subject: String
    var payload: [UInt8]
    var headers: [String: String]
    var allHeaders: [(name: String, value: String)]
}

/// Blocking reads and writes of the dead-letter stream. Runs on connection threads.
enum DeadLetterStore {
    static func bounds(js: OpaquePointer, stream: String) throws(ProtoqueueError) -> (
        first: UInt64, last: UInt64, count: UInt64
    ) {
        guard let state = try JetStreamAPI.streamState(js, stream: stream) else {
            throw ProtoqueueError(.streamNotFound, "read dead-letter stream \"\(stream)\": stream not found")
        }
        return (state.firstSequence, state.lastSequence, state.messages)
    }

    /// The record at `sequence`, or `nil` when it was deleted.
    static func get(js: OpaquePointer, stream: String, sequence: UInt64) throws(ProtoqueueError) -> RawRecord? {
        let operation = "read dead-letter record \(sequence) of \"\(stream)\""
        guard let stored = try JetStreamAPI.message(js, stream: stream, sequence: sequence, operation: operation)
        else { return nil }
        return RawRecord(
            sequence: sequence, subject: stored.subject, payload: stored.body, headers: stored.firstHeaderValues,
            allHeaders: stored.headers
        )
    }

    /// Republishes the record's task to its original subject (fresh attempt count), then deletes the record.
    static func replay(js: OpaquePointer, record: RawRecord, layout: QueueLayout) throws(ProtoqueueError) -> EnqueueReceipt {
        var subject = record.headers[WireFormat.DeadLetterHeader.subject] ?? layout.readySubject()
        if !subject.hasPrefix(layout.subject + ".ready.") { subject = layout.readySubject() }
        let taskID = DeadLetterRecord.taskID(headers: record.headers)
        var headers = DeadLetterRecord.replayedHeaders(of: record.allHeaders)
        if let taskID { headers.append((WireFormat.taskIDHeader, taskID)) }
        headers.append((WireFormat.replayedFromHeader, "\(layout.deadLetterStreamName):\(record.sequence)"))
        let messageID = WireFormat.replayMessageID(deadLetterStream: layout.deadLetterStreamName, sequence: record.sequence)
        headers.append((WireFormat.Header.messageID, messageID))
        let prepared = PreparedMessage(subject: subject, headers: headers, body: record.payload, id: messageID)
        let ack = try JetStreamAPI.publish(
            js, prepared, operation: "replay dead-letter record \(record.sequence) to \"\(subject)\""
        )
        let receipt = EnqueueReceipt(
            id: taskID ?? messageID, sequence: ack.sequence, duplicate: ack.duplicate,
            stream: ack.stream.isEmpty ? layout.streamName : ack.stream
        )
        try JetStreamAPI.deleteMessage(
            js, stream: layout.deadLetterStreamName, sequence: record.sequence,
            operation: "delete replayed dead-letter record \(record.sequence)"
        )
        return receipt
    }
}
