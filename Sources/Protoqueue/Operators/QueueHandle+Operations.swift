package import Foundation
import ProtoqueueSchema

/// A dead-letter record read without a task type (``QueueHandle/deadLetters(from:limit:)``).
package struct DeadLetterEntry: Sendable {
    /// The record's sequence in the dead-letter stream.
    package var sequence: UInt64
    /// Every header of the record (first value of each).
    package var headers: [String: String]
    /// The failed task's body, unchanged.
    package var payload: [UInt8]
    /// The task's id.
    package var id: TaskID?
    /// Why it was dead-lettered, the error text and its details.
    package var reason: DeadLetterReason
    package var error: String
    package var details: [String: String]
    /// Deliveries the task had.
    package var attempts: Int
    /// Where the task was: its subject and sequence in the work stream.
    package var originalSubject: String
    package var originalSequence: UInt64
    /// When it was dead-lettered.
    package var failedAt: Date?

    init(_ raw: RawRecord) {
        let record = DeadLetterRecord(headers: raw.headers)
        self.init(
            sequence: raw.sequence, headers: raw.headers, payload: raw.payload,
            id: DeadLetterRecord.taskID(headers: raw.headers), reason: record.reason, error: record.error,
            details: record.details, attempts: Int(clamping: record.attempts), originalSubject: record.subject,
            originalSequence: record.sequence,
            failedAt: record.failedAt.map { Date(timeIntervalSince1970: Double($0) / 1000) })
    }

    init(
        sequence: UInt64, headers: [String: String], payload: [UInt8], id: TaskID?, reason: DeadLetterReason,
        error: String, details: [String: String], attempts: Int, originalSubject: String, originalSequence: UInt64,
        failedAt: Date?
    ) {
        (self.sequence, self.headers, self.payload, self.id) = (sequence, headers, payload, id)
        (self.reason, self.error, self.details, self.attempts) = (reason, error, details, attempts)
        (self.originalSubject, self.originalSequence, self.failedAt) = (originalSubject, originalSequence, failedAt)
    }
}

/// A declared schedule read without a task type (``QueueHandle/schedules()``).
package struct ScheduleEntry: Sendable {
    /// The schedule: name, timing, missed-tick and overlap policies.
    package var schedule: TaskSchedule
    /// The task type and body each tick enqueues, and its metadata.
    package var taskType: String
    package var body: [UInt8]
    package var metadata: [String: String]
    /// The last tick handled and the next one.
    package var lastTick: Date
    package var nextTick: Date?
}

extension QueueHandle {
    var deadLetterStore: DeadLetterStore { DeadLetterStore(transport: connection.transport, layout: layout) }

    /// Dead-letter records from sequence `from` (the oldest when `nil`), oldest first, at most `limit`.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` when the queue has no dead-letter stream.
    package func deadLetters(from: UInt64?, limit: Int?) async throws(ProtoqueueError) -> [DeadLetterEntry] {
        let store = deadLetterStore
        let (first, last, count) = try await store.bounds()
        var entries: [DeadLetterEntry] = []
        guard count > 0 else { return entries }
        var sequence = max(first, from ?? first)
        while sequence <= last, entries.count < limit ?? Int.max {
            guard let record = try await store.first(atOrAfter: sequence), record.sequence <= last else { break }
            entries.append(DeadLetterEntry(record))
            sequence = record.sequence + 1
        }
        return entries
    }

    /// The dead-letter record at `sequence`.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` when there is none.
    package func deadLetter(sequence: UInt64) async throws(ProtoqueueError) -> DeadLetterEntry {
        DeadLetterEntry(try await deadLetterStore.existing(sequence: sequence))
    }

    /// What ``Queue/replayDeadLetter(sequence:)`` does (lifecycle events aside: the handle has none).
    package func replayDeadLetter(sequence: UInt64) async throws(ProtoqueueError) -> EnqueueReceipt {
        let store = deadLetterStore
        let receipt = try await store.replay(try await store.existing(sequence: sequence))
        events?.replayed(receipt)
        return receipt
    }

    /// What ``Queue/purgeDeadLetters()`` does.
    package func purgeDeadLetters() async throws(ProtoqueueError) -> UInt64 {
        let store = deadLetterStore
        let (_, _, count) = try await store.bounds()
        try await store.purge()
        return count
    }

    /// The declared schedules, by name.
    package func schedules() async throws(ProtoqueueError) -> [ScheduleEntry] {
        let store = ScheduleStore(transport: connection.transport, layout: layout)
        var entries: [ScheduleEntry] = []
        for name in try await store.names() {
            guard let record = try await store.record(name) else { continue }
            entries.append(
                ScheduleEntry(
                    schedule: record.schedule, taskType: record.taskType, body: record.body, metadata: record.metadata,
                    lastTick: Date(timeIntervalSince1970: Double(record.lastTick) / 1000),
                    nextTick: record.schedule.timing.nextTick(after: record.lastTick).map {
                        Date(timeIntervalSince1970: Double($0) / 1000)
                    }))
        }
        return entries
    }

    /// Enqueues a task already encoded as `body`, a message of `schema`'s type, as ``Queue/enqueue(_:options:)``
    /// writes it, unique keys included (without middleware or lifecycle events).
    /// - Throws: What ``Queue/enqueue(_:options:)`` throws.
    package func enqueue(
        body: [UInt8], schema: RegisteredSchema, options: EnqueueOptions
    ) async throws(ProtoqueueError) -> EnqueueReceipt {
        if let unique = options.unique { try Validation.uniqueKey(unique) }
        let prepared = try TaskEnvelope.prepare(
            body: body, type: schema.messageName, fingerprint: schema.fingerprint, id: options.id ?? .random(),
            metadata: options.metadata, headers: [:], timing: options, priorities: configuration.priorities,
            layout: layout)
        let transport = connection.transport
        let maxPayload = try transport.currentMaxPayload()
        if let unique = options.unique {
            return try await UniqueEnqueue(transport: transport, layout: layout, streamLimit: nil)
                .send(prepared, unique, maxPayload: maxPayload)
        }
        try TaskEnvelope.checkSize(prepared, maxPayload: maxPayload, streamLimit: nil, stream: layout.streamName)
        return try await transport.publish(prepared, maxAttempts: 3)
    }
}
