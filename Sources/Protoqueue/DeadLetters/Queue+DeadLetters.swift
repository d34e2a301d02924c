public import Foundation

/// One record of the dead-letter stream: the failed task as it was, and why it failed.
///
/// ## Overview
/// ```swift
/// for record in try await queue.deadLetters() {
///     print(record.sequence, record.reason, record.error, record.task?.to ?? "<undecodable>")
///     if record.reason == .failed { try await queue.replayDeadLetter(sequence: record.sequence) }
/// }
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
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` when dead letters are disabled or the stream
    ///   is missing.
    public func deadLetters(
        limit: Int = 100, fromSequence: UInt64? = nil
    ) async throws(ProtoqueueError) -> [DeadLetter<Message>] {
        let store = deadLetterStore
        let (first, last, count) = try await store.bounds()
        var records: [DeadLetter<Message>] = []
        guard count > 0, limit > 0 else { return records }
        var sequence = max(first, fromSequence ?? first)
        while sequence <= last && records.count < limit {
            if let record = try await store.get(sequence: sequence) { records.append(decode(record)) }
            sequence += 1
        }
        return records
    }

    /// Reads one dead-letter record.
    /// - Parameter sequence: Its sequence in the dead-letter stream.
    /// - Returns: The record.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` when there is no such record.
    public func deadLetter(sequence: UInt64) async throws(ProtoqueueError) -> DeadLetter<Message> {
        return decode(try await deadLetterStore.existing(sequence: sequence))
    }

    /// Puts a dead-lettered task back in the work stream with a fresh attempt count, then deletes the record.
    ///
    /// The task is republished to its original subject with its original payload and headers, its id in
    /// `Protoqueue-Task-Id`, and `Nats-Msg-Id` = `replay:<dead-letter stream>:<sequence>`: a replay interrupted
    /// between the publish and the delete can be repeated (within the duplicate window) without storing the task
    /// twice.
    /// - Parameter sequence: The record's sequence in the dead-letter stream.
    /// - Returns: The receipt of the republished task.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` when there is no such record, or a publish
    ///   error.
    @discardableResult
    public func replayDeadLetter(sequence: UInt64) async throws(ProtoqueueError) -> EnqueueReceipt {
        let store = deadLetterStore
        return try await store.replay(try await store.existing(sequence: sequence))
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
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` when dead letters are disabled, or a
    ///   connection error.
    @discardableResult
    public func purgeDeadLetters() async throws(ProtoqueueError) -> UInt64 {
        let store = deadLetterStore
        let (_, _, count) = try await store.bounds()
        try await store.purge()
        return count
    }

    private var deadLetterStore: DeadLetterStore { DeadLetterStore(transport: connection.transport, layout: layout) }

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
