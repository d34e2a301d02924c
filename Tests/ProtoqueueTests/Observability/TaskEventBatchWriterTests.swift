import Testing

@testable import Protoqueue

/// ``TaskEventBatchWriter`` writes the bytes the generated encoder (protobuf-c) writes for the same events.
@Suite struct TaskEventBatchWriterTests {
    private static func event(_ fill: (inout TaskEvent) -> Void) -> TaskEvent {
        var event = TaskEvent()
        fill(&event)
        return event
    }

    static let events: [TaskEvent] = [
        TaskEvent(),
        event { $0.kind = .enqueued },
        event { $0.kind = .unrecognized(-1) },
        event { $0.kind = .unrecognized(1_000) },
        event {
            $0.kind = .started
            $0.queue = "emails"
            $0.taskType = "example.EmailTask"
            $0.taskID = "t-1"
            $0.sequence = 1
            $0.attempt = 1
            $0.timeUnixMs = 1_796_000_000_000
        },
        event {
            $0.kind = .retryScheduled
            $0.queue = "q"
            $0.sequence = .max
            $0.attempt = .max
            $0.timeUnixMs = .min
            $0.retryDelayMs = 127
            $0.error = "tëst ✓ \u{1F600}"
            $0.runTimeUs = 128
        },
        event {
            $0.kind = .deadLettered
            $0.taskID = String(repeating: "i", count: 200)
            $0.reason = "retriesExhausted"
            $0.error = String(repeating: "e", count: 1024)
            $0.timeUnixMs = -1
        },
        event {
            $0.kind = .discarded; $0.reason = "poison"
        },
        event {
            $0.kind = .paused; $0.pausedUntilUnixMs = 1_796_000_060_000
        },
        event {
            $0.kind = .paused; $0.pausedUntilUnixMs = -5
        },
        event { $0.kind = .resumed },
    ]

    @Test(arguments: events)
    func oneEventIsWrittenAsTheGeneratedEncoderWritesIt(event: TaskEvent) throws {
        var writer = TaskEventBatchWriter()
        let added = writer.append(event, limit: 1)
        #expect(added && writer.count == 1)
        let bytes = writer.take()
        #expect(bytes == (try TaskEventBatch(events: [event]).serializedBytes()))
        #expect(writer.count == 0 && writer.take().isEmpty)
    }

    @Test func aBatchOfEveryEventIsWrittenAsTheGeneratedEncoderWritesIt() throws {
        var writer = TaskEventBatchWriter()
        let added = Self.events.map { writer.append($0, limit: .max) }
        #expect(!added.contains(false))
        let bytes = writer.take()
        #expect(bytes == (try TaskEventBatch(events: Self.events).serializedBytes()))
        #expect(try TaskEventBatch(serializedBytes: bytes).events == Self.events)
    }

    /// An event that would take the batch past the limit is refused, unless the batch is empty.
    @Test func theLimitIsKeptExceptForAnEmptyBatch() throws {
        let event = Self.events[6]
        let size = try TaskEventBatch(events: [event]).serializedBytes().count
        var writer = TaskEventBatchWriter()
        // Alone, it goes in however small the limit.
        let first = writer.append(event, limit: 10)
        let overLimit = writer.append(event, limit: 2 * size - 1)
        let atLimit = writer.append(event, limit: 2 * size)
        #expect(first && !overLimit && atLimit)
        #expect(writer.count == 2)
        #expect(writer.take().count == 2 * size)
    }
}
