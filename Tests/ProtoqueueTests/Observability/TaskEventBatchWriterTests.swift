import Testing

@testable import Protoqueue

/// ``TaskEventBatchWriter`` writes the bytes the generated encoder (protobuf-c) writes for the same events.
@Suite struct TaskEventBatchWriterTests {
    /// A queue's name, its task type and one of its events.
    struct Row: Sendable, CustomTestStringConvertible {
        var queue = "emails"
        var taskType = "example.EmailTask"
        var event = LifecycleEvent()
        var testDescription: String { "\(queue)/\(taskType) \(event.kind)" }
    }

    private static func row(
        queue: String = "emails", taskType: String = "example.EmailTask", _ fill: (inout LifecycleEvent) -> Void
    ) -> Row {
        var event = LifecycleEvent()
        fill(&event)
        return Row(queue: queue, taskType: taskType, event: event)
    }

    static let rows: [Row] = [
        Row(queue: "", taskType: ""),
        Row(),
        row(queue: "q", taskType: "") { $0.kind = .enqueued },
        row(queue: "", taskType: "t") { $0.kind = .enqueued },
        row { $0.kind = .unrecognized(-1) },
        row { $0.kind = .unrecognized(1_000) },
        row(queue: "émails", taskType: String(repeating: "t", count: 200)) {
            $0.kind = .started
            $0.taskID = "t-1"
            $0.sequence = 1
            $0.attempt = 1
            $0.timeUnixMs = 1_796_000_000_000
        },
        row {
            $0.kind = .retryScheduled
            $0.sequence = .max
            $0.attempt = .max
            $0.timeUnixMs = .min
            $0.retryDelayMs = 127
            $0.error = "tëst ✓ \u{1F600}"
            $0.runTimeUs = 128
        },
        row {
            $0.kind = .deadLettered
            $0.taskID = String(repeating: "i", count: 200)
            $0.reason = "retriesExhausted"
            $0.error = String(repeating: "e", count: 1024)
            $0.timeUnixMs = -1
        },
        row {
            $0.kind = .discarded; $0.reason = "poison"
        },
        row {
            $0.kind = .paused; $0.pausedUntilUnixMs = 1_796_000_060_000
        },
        row {
            $0.kind = .paused; $0.pausedUntilUnixMs = -5
        },
        row { $0.kind = .resumed },
    ]

    /// The row's event as the generated type holds it.
    private static func taskEvent(_ row: Row) -> TaskEvent {
        TaskEvent(
            kind: row.event.kind, queue: row.queue, taskType: row.taskType, taskID: row.event.taskID,
            sequence: row.event.sequence, attempt: row.event.attempt, timeUnixMs: row.event.timeUnixMs,
            retryDelayMs: row.event.retryDelayMs, reason: row.event.reason, error: row.event.error,
            runTimeUs: row.event.runTimeUs, pausedUntilUnixMs: row.event.pausedUntilUnixMs)
    }

    @Test(arguments: rows)
    func oneEventIsWrittenAsTheGeneratedEncoderWritesIt(row: Row) throws {
        var writer = TaskEventBatchWriter(queue: row.queue, taskType: row.taskType)
        let added = writer.append(row.event, limit: 1)
        #expect(added && writer.count == 1)
        let bytes = writer.take()
        #expect(bytes == (try TaskEventBatch(events: [Self.taskEvent(row)]).serializedBytes()))
        #expect(writer.count == 0 && writer.take().isEmpty)
    }

    @Test func aBatchOfEveryEventIsWrittenAsTheGeneratedEncoderWritesIt() throws {
        let rows = Self.rows.filter { $0.queue == "emails" && $0.taskType == "example.EmailTask" }
        #expect(rows.count >= 8)
        var writer = TaskEventBatchWriter(queue: "emails", taskType: "example.EmailTask")
        let added = rows.map { writer.append($0.event, limit: .max) }
        #expect(!added.contains(false))
        let bytes = writer.take()
        let expected = rows.map(Self.taskEvent)
        #expect(bytes == (try TaskEventBatch(events: expected).serializedBytes()))
        #expect(try TaskEventBatch(serializedBytes: bytes).events == expected)
    }

    /// An event that would take the batch past the limit is refused, unless the batch is empty.
    @Test func theLimitIsKeptExceptForAnEmptyBatch() throws {
        let row = Self.rows[8]
        let size = try TaskEventBatch(events: [Self.taskEvent(row)]).serializedBytes().count
        var writer = TaskEventBatchWriter(queue: row.queue, taskType: row.taskType)
        // Alone, it goes in however small the limit.
        let first = writer.append(row.event, limit: 10)
        let overLimit = writer.append(row.event, limit: 2 * size - 1)
        let atLimit = writer.append(row.event, limit: 2 * size)
        #expect(first && !overLimit && atLimit)
        #expect(writer.count == 2)
        #expect(writer.take().count == 2 * size)
    }
}
