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
    /// The task's id: `nil` only for a task that arrived without one (a producer that sent no `Nats-Msg-Id`).
    public var id: TaskID?
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
    /// The dead-letter records, oldest first, read one at a time as the sequence is iterated.
    ///
    /// ```swift
    /// for try await record in queue.deadLetters() {
    ///     print(record.sequence, record.reason, record.error)
    /// }
    /// let firstTen = try await queue.deadLetters().prefix(10).reduce(into: []) { $0.append($1) }
    /// ```
    /// The records are those up to the stream's last sequence when iteration begins; records replayed or purged
    /// meanwhile are skipped. Iterating throws ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` when dead
    /// letters are disabled or the stream is missing.
    /// - Parameter fromSequence: Start at this dead-letter sequence (inclusive); `nil` starts at the oldest.
    /// - Returns: The records; typed decode when possible, raw bytes and headers always.
    public func deadLetters(fromSequence: UInt64? = nil) -> DeadLetters<Message> {
        DeadLetters(queue: self, fromSequence: fromSequence)
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
        try await handle.replayDeadLetter(sequence: sequence)
    }

    /// Replays every dead-letter record (see ``replayDeadLetter(sequence:)``), oldest first.
    /// - Returns: How many tasks were put back.
    /// - Throws: The first error; records replayed before it stay replayed.
    @discardableResult
    public func replayAllDeadLetters() async throws(ProtoqueueError) -> Int {
        var replayed = 0
        var records = deadLetters().makeAsyncIterator()
        while let record = try await records.nextRecord() {
            try await replayDeadLetter(sequence: record.sequence)
            replayed += 1
        }
        return replayed
    }

    /// Deletes every dead-letter record.
    /// - Returns: How many records there were.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` when dead letters are disabled, or a
    ///   connection error.
    @discardableResult
    public func purgeDeadLetters() async throws(ProtoqueueError) -> UInt64 {
        try await handle.purgeDeadLetters()
    }

    var deadLetterStore: DeadLetterStore { handle.deadLetterStore }

    func decode(_ raw: RawRecord) -> DeadLetter<Message> {
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
            id: DeadLetterRecord.taskID(headers: headers),
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

/// The dead-letter records of a queue, oldest first (``Queue/deadLetters(fromSequence:)``).
public struct DeadLetters<Message: ProtoqueueMessage>: AsyncSequence, Sendable {
    /// One record.
    public typealias Element = DeadLetter<Message>
    /// Reading a record can fail (the stream is missing, the connection closed); the error is always a
    /// ``ProtoqueueCodec/ProtoqueueError``. (Declared untyped: Swift 6.3's compiler crashes on `try?` over `reduce`
    /// of a sequence with a typed failure.)
    public typealias Failure = any Error

    let queue: Queue<Message>
    let fromSequence: UInt64?

    /// Creates the iterator.
    public func makeAsyncIterator() -> Iterator { Iterator(queue: queue, next: fromSequence) }

    /// Reads the records in order, one request per record (deleted ones are skipped by the server).
    public struct Iterator: AsyncIteratorProtocol {
        let queue: Queue<Message>
        var next: UInt64?
        var last: UInt64?

        /// The next record, or `nil` after the last.
        public mutating func next() async throws -> DeadLetter<Message>? { try await nextRecord() }

        mutating func nextRecord() async throws(ProtoqueueError) -> DeadLetter<Message>? {
            let store = queue.deadLetterStore
            if last == nil {
                let (first, last, count) = try await store.bounds()
                guard count > 0 else {
                    self.last = 0
                    self.next = 1
                    return nil
                }
                self.last = last
                next = Swift.max(first, next ?? first)
            }
            guard let sequence = next, let last, sequence <= last,
                let record = try await store.first(atOrAfter: sequence), record.sequence <= last
            else {
                next = (last ?? 0) + 1
                return nil
            }
            next = record.sequence + 1
            return queue.decode(record)
        }
    }
}
