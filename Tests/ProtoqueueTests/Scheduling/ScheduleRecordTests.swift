import Foundation
import Testing

@testable import Protoqueue

/// A schedule record's headers and the tick tasks it makes, byte for byte.
@Suite("Schedule records")
struct ScheduleRecordTests {
    static let layout = try! QueueLayout(queueName: "emails", configuration: QueueConfiguration())

    static func record() throws -> ScheduleRecord {
        let amsterdam = try #require(TimeZone(identifier: "Europe/Amsterdam"))
        let schedule = TaskSchedule(
            name: "nightly", timing: .cron(try CronExpression("0 0 3 * * *"), in: amsterdam), missedTicks: .runOnce,
            overlap: .skip)
        return ScheduleRecord(
            schedule: schedule, taskType: "protoqueue.examples.EmailTask", body: [1, 2],
            metadata: ["b": "2", "a": "1"],
            lastTick: 1_796_436_000_000, updatedAt: 1_796_436_000_123)
    }

    static func pairs(_ headers: [(String, String)]) -> [String] { headers.map { "\($0.0): \($0.1)" } }

    @Test func aRecordWritesItsDefinitionProgressAndTask() throws {
        var record = try Self.record()
        record.catchUp = 1_796_436_000_000
        #expect(
            Self.pairs(record.headers(expectingLast: 7)) == [
                "Protoqueue-Schedule: nightly", "Protoqueue-Schedule-Timing: cron 0 0 3 * * *",
                "Protoqueue-Schedule-Time-Zone: Europe/Amsterdam", "Protoqueue-Schedule-Missed-Ticks: runOnce",
                "Protoqueue-Schedule-Overlap: skip", "Protoqueue-Schedule-Last-Tick: 1796436000000",
                "Protoqueue-Schedule-Catch-Up: 1796436000000", "Protoqueue-Schedule-Updated-At: 1796436000123",
                "Protoqueue-Type: protoqueue.examples.EmailTask", "Protoqueue-Version: 1",
                "Content-Type: application/x-protobuf", "Protoqueue-Meta-a: 1", "Protoqueue-Meta-b: 2",
                "Nats-Expected-Last-Subject-Sequence: 7",
            ])
    }

    @Test func aRecordReadsBackAndAMalformedOneIsRefusedNamingTheHeader() throws {
        var record = try Self.record()
        let headers = record.headers(expectingLast: 0).map { (name: $0.0, value: $0.1) }
        let stored = StoredMessage(
            subject: "protoqueue.emails.control.schedules.nightly", body: [1, 2], headers: headers, sequence: 9)
        record.sequence = 9
        #expect(try ScheduleRecord(decoding: stored) == record)
        var broken = stored
        broken.headers = headers.map { $0.name == "Protoqueue-Schedule-Overlap" ? ($0.name, "sometimes") : $0 }
        #expect(throws: ProtoqueueError.self) { try ScheduleRecord(decoding: broken) }
        do throws(ProtoqueueError) {
            _ = try ScheduleRecord(decoding: broken)
        } catch {
            #expect(error.code == .invalidHeader && error.message.contains("Protoqueue-Schedule-Overlap"))
        }
    }

    @Test func aTickTaskHasItsOwnIdTickAndSubject() throws {
        let task = try Self.record().task(tick: 1_796_436_000_000, now: 1_796_436_000_002, layout: Self.layout)
        #expect(task.subject == "protoqueue.emails.ready.default.schedule.nightly")
        #expect(task.id == "nightly@2026-12-05T02:00:00Z")
        #expect(
            Self.pairs(task.headers) == [
                "Nats-Msg-Id: nightly@2026-12-05T02:00:00Z", "Protoqueue-Enqueued-At: 1796436000002",
                "Protoqueue-Type: protoqueue.examples.EmailTask", "Protoqueue-Version: 1",
                "Content-Type: application/x-protobuf", "Protoqueue-Meta-a: 1", "Protoqueue-Meta-b: 2",
                "Protoqueue-Schedule: nightly", "Protoqueue-Tick: 1796436000000",
            ])
        #expect(task.body == [1, 2])
    }
}
