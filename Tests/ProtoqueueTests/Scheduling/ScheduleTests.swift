import Foundation
import Protoqueue
import TaskSchemas
import Testing

/// Declared schedules on a real server: declaring, listing and removing them, and the ticks that workers fire.
@Suite("Schedules")
struct ScheduleTests {
    /// Opens the queue `name` on a connection of its own, with `duplicateWindow` (the lateness bound is half of it).
    static func openQueue(
        _ name: String, url: String, duplicateWindow: Duration = .seconds(120)
    ) async throws -> (NATSConnection, Queue<EmailTask>) {
        let connection = try await connect(url)
        var configuration = QueueConfiguration()
        configuration.duplicateWindow = duplicateWindow
        let queue = try await Queue<EmailTask>(
            connection: connection, name: name, configuration: configuration, logger: testLogger())
        return (connection, queue)
    }

    static let quick = ProcessOptions(concurrency: 4, fetchTimeout: .milliseconds(200))

    /// Records each tick task a handler runs: its id, its tick (ms) and its schedule header.
    static func recordTicks(_ ticks: Recorder<(TaskID, Int64, String?)>) -> Queue<EmailTask>.Handler {
        { _, context in
            ticks.record(
                (
                    context.id, Int64(context.headers["Protoqueue-Tick"] ?? "") ?? -1,
                    context.headers["Protoqueue-Schedule"]
                ))
            return .success
        }
    }

    @Test func aScheduleIsDeclaredOnceListedChangedAndRemoved() async throws {
        try await withProcessingFixture("schedlist") { fixture in
            let queue = fixture.queue
            let every = TaskSchedule(name: "digest", timing: .every(.seconds(3600)))
            #expect(try await queue.declareSchedule(every, task: EmailTask(to: "ops"), metadata: ["kind": "digest"]))
            #expect(try await !queue.declareSchedule(every, task: EmailTask(to: "ops"), metadata: ["kind": "digest"]))
            let listed = try #require(try await queue.schedules().first)
            #expect(listed.schedule == every && listed.task?.to == "ops" && listed.metadata == ["kind": "digest"])
            let next = try #require(listed.nextTick)
            #expect(next.timeIntervalSince1970.truncatingRemainder(dividingBy: 3600) == 0)
            #expect(next > Date() && next <= Date().addingTimeInterval(3600))

            let amsterdam = try #require(TimeZone(identifier: "Europe/Amsterdam"))
            let cron = TaskSchedule(
                name: "digest", timing: .cron(try CronExpression("0 0 3 * * *"), in: amsterdam), missedTicks: .runOnce,
                overlap: .skip)
            #expect(try await queue.declareSchedule(cron, task: EmailTask(to: "ops")))
            #expect(try await queue.schedules().map(\.schedule) == [cron])
            #expect(try await queue.removeSchedule(named: "digest"))
            #expect(try await !queue.removeSchedule(named: "digest"))
            #expect(try await queue.schedules().isEmpty)
        }
    }

    @Test func aBadScheduleIsRefusedByName() async throws {
        try await withProcessingFixture("schedbad") { fixture in
            do throws(ProtoqueueError) {
                try await fixture.queue.declareSchedule(.init(name: "a.b", timing: .every(.seconds(1))), task: .init())
                Issue.record("a name with a dot was accepted")
            } catch {
                #expect(error.code == .invalidName && error.message.contains("a.b"))
            }
            do throws(ProtoqueueError) {
                try await fixture.queue.declareSchedule(
                    .init(name: "fast", timing: .every(.milliseconds(500))), task: .init())
                Issue.record("a half-second interval was accepted")
            } catch {
                #expect(error.code == .invalidConfiguration && error.message.contains("whole number of seconds"))
            }
            let declared = try await fixture.queue.schedules()
            #expect(declared.isEmpty)
        }
    }

    @Test func threeWorkersStoreEachTickOnce() async throws {
        let url = try await SharedServer.url()
        let name = uniqueName("schedthree")
        let (first, queue) = try await Self.openQueue(name, url: url)
        let (second, queueB) = try await Self.openQueue(name, url: url)
        let (third, queueC) = try await Self.openQueue(name, url: url)
        let ticks = Recorder<(TaskID, Int64, String?)>()
        try await queue.declareSchedule(.init(name: "pulse", timing: .every(.seconds(1))), task: EmailTask(to: "x"))
        let handler = Self.recordTicks(ticks)
        try await whileRunning({ try await queueB.process(options: Self.quick, handler: handler) }) {
            try await whileRunning({ try await queueC.process(options: Self.quick, handler: handler) }) {
                try await withProcessor(queue, options: Self.quick, handler: handler) {
                    #expect(await eventually { ticks.count >= 4 })
                }
            }
        }
        let seen = ticks.all.sorted { $0.1 < $1.1 }
        #expect(Set(seen.map(\.0)).count == seen.count, "a tick ran twice: \(seen.map(\.0))")
        #expect(seen.allSatisfy { $0.2 == "pulse" && $0.1 % 1000 == 0 && $0.0.rawValue.hasPrefix("pulse@") })
        for (earlier, later) in zip(seen, seen.dropFirst()) {
            #expect(later.1 - earlier.1 == 1000, "ticks \(earlier.1) and \(later.1) are not consecutive")
        }
        for connection in [first, second, third] { await connection.close() }
    }

    @Test func aScheduleDeclaredWhileAWorkerRunsFiresAtItsFirstTick() async throws {
        try await withProcessingFixture("schedlater") { fixture in
            let ticks = Recorder<(TaskID, Int64, String?)>()
            try await withProcessor(fixture.queue, options: Self.quick, handler: Self.recordTicks(ticks)) {
                // The worker has listed no schedule yet; the declaration in this process wakes it (the listing runs
                // every 60 s).
                try await Task.sleep(for: .milliseconds(500))
                try await fixture.queue.declareSchedule(
                    .init(name: "late", timing: .every(.seconds(1))), task: EmailTask(to: "x"))
                #expect(await eventually(timeout: .seconds(5)) { ticks.count >= 2 })
            }
            #expect(ticks.all.allSatisfy { $0.2 == "late" })
        }
    }

    @Test(arguments: [TaskSchedule.MissedTicks.runOnce, .skip])
    func ticksMissedWhileNoWorkerRanFollowThePolicy(_ policy: TaskSchedule.MissedTicks) async throws {
        let url = try await SharedServer.url()
        // A 4 s duplicate window makes ticks more than 2 s late missed.
        let (connection, queue) = try await Self.openQueue(
            uniqueName("schedmissed"), url: url, duplicateWindow: .seconds(4))
        try await queue.declareSchedule(
            .init(name: "pulse", timing: .every(.seconds(1)), missedTicks: policy), task: EmailTask(to: "x"))
        try await Task.sleep(for: .seconds(5))
        // The worker judges lateness when it starts, a little after `started`: both fall within the same second of
        // the tick grid when `started` is 200-500 ms past a tick, so a start up to half a second later sees the same
        // ticks as missed (a start just before a tick made the catch-up tick look on time).
        let phase = Int64(Date().timeIntervalSince1970 * 1000) % 1000
        if phase < 200 || phase > 500 { try await Task.sleep(for: .milliseconds((1200 - phase) % 1000)) }
        let started = Int64(Date().timeIntervalSince1970 * 1000)
        let ticks = Recorder<(TaskID, Int64, String?)>()
        try await withProcessor(queue, options: Self.quick, handler: Self.recordTicks(ticks)) {
            #expect(await eventually { ticks.all.contains { $0.1 > started } })
        }
        let seen = ticks.all.map(\.1).sorted()
        let late = seen.filter { started - $0 > 2000 }
        // runOnce: one task stands for the missed ticks; skip: none. The ticks at most 2 s late still run each.
        #expect(late.count == (policy == .runOnce ? 1 : 0), "ticks \(seen) from a start at \(started)")
        #expect(Set(seen).count == seen.count)
        await connection.close()
    }

    @Test func aTickIsSkippedWhileTheEarlierTaskRunsWhenOverlapIsSkip() async throws {
        try await withProcessingFixture("schedoverlap") { fixture in
            try await fixture.queue.declareSchedule(
                .init(name: "slow", timing: .every(.seconds(1)), overlap: .skip), task: EmailTask(to: "x"))
            let ticks = Recorder<Int64>()
            try await withProcessor(fixture.queue, options: Self.quick) { _, context in
                ticks.record(Int64(context.headers["Protoqueue-Tick"] ?? "") ?? -1)
                try await Task.sleep(for: .milliseconds(2500))
                return .success
            } body: {
                #expect(await eventually(timeout: .seconds(15)) { ticks.count >= 3 })
            }
            let seen = ticks.all.sorted()
            for (earlier, later) in zip(seen, seen.dropFirst()) {
                #expect(later - earlier >= 2000, "ticks \(seen) overlap")
            }
        }
    }
}
