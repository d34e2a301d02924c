import Foundation
import Protoqueue
import TaskSchemas
import Testing

/// Tasks enqueued with a start time (`EnqueueOptions.notBefore`): stored at once on the scheduled subject, started no
/// earlier, with their id.
@Suite("Delayed tasks")
struct DelayedTaskTests {
    @Test func aDelayedTaskStartsNoEarlierThanAskedAndKeepsItsId() async throws {
        try await withProcessingFixture("delayed") { fixture in
            let enqueuedAt = Int64(Date().timeIntervalSince1970 * 1000)
            let receipt = try await fixture.queue.enqueue(
                EmailTask(to: "later@example.com"), options: .delayed(by: .milliseconds(1500), id: "later-1"))
            #expect(try await fixture.queue.peek(sequence: receipt.sequence).subject.hasSuffix(".scheduled.default"))
            // The id deduplicates as for any task.
            let again = try await fixture.queue.enqueue(
                EmailTask(to: "later@example.com"), options: .delayed(by: .milliseconds(1500), id: "later-1"))
            #expect(again.duplicate && again.sequence == receipt.sequence)
            _ = try await fixture.queue.enqueue(EmailTask(to: "now@example.com"), options: .init(id: "now-1"))
            // No worker yet: the delayed task waits undelivered on the scheduled-task consumer.
            let stats = try await fixture.queue.stats()
            #expect(stats.scheduled == 1 && stats.pending == 1 && stats.messages == 2, "\(stats)")
            let runs = Recorder<(id: TaskID, startedAt: Int64, notBefore: Date?, attempt: Int)>()
            try await withProcessor(fixture.queue) { _, context in
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                runs.record((context.id, now, context.notBefore, context.attempt))
                return .success
            } body: {
                #expect(await eventually { runs.count == 2 })
                #expect(await eventually { (try? await fixture.queue.stats().messages) == 0 })
            }
            let seen = runs.all
            #expect(seen.map(\.id) == ["now-1", "later-1"])
            let later = try #require(seen.last)
            let notBefore = try #require(later.notBefore.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) })
            #expect(notBefore - enqueuedAt >= 1500 && notBefore - enqueuedAt < 1600, "due \(notBefore - enqueuedAt) ms")
            #expect(later.startedAt >= notBefore, "started \(notBefore - later.startedAt) ms early")
            #expect(later.startedAt - notBefore < 2000, "started \(later.startedAt - notBefore) ms late")
            #expect(later.attempt == 1)
        }
    }

    @Test func aBatchMixesDelayedAndImmediateTasks() async throws {
        try await withProcessingFixture("delayedbatch") { fixture in
            let due = Date().addingTimeInterval(1.2)
            let items = (0..<4).map { index in
                EnqueueItem(
                    EmailTask(to: "\(index)"),
                    options: .init(id: "b-\(index)", notBefore: index % 2 == 0 ? due : Date(timeIntervalSinceNow: -5)))
            }
            let results = try await fixture.queue.enqueueBatch(items)
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            let runs = Recorder<(TaskID, Date)>()
            try await withProcessor(fixture.queue) { _, context in
                runs.record((context.id, Date()))
                return .success
            } body: {
                #expect(await eventually { runs.count == 4 })
            }
            #expect(Set(runs.all.prefix(2).map(\.0)) == ["b-1", "b-3"])
            for (id, startedAt) in runs.all where ["b-0", "b-2"].contains(id) {
                #expect(startedAt.timeIntervalSince(due) > -0.001, "\(id) started early")
            }
        }
    }

    @Test func aStartTimeOutsideTheRangeIsRefusedBeforeSending() async throws {
        try await withProcessingFixture("delayedbad") { fixture in
            do throws(ProtoqueueError) {
                _ = try await fixture.queue.enqueue(
                    EmailTask(to: "x"), options: .init(notBefore: Date(timeIntervalSince1970: -5)))
                Issue.record("a start before 1970 was accepted")
            } catch {
                #expect(error.code == .invalidHeader && error.message.contains("notBefore"), "\(error)")
            }
            #expect((try? await fixture.queue.stats())?.messages == 0)
            do throws(ProtoqueueError) {
                let start = Date().addingTimeInterval(60)
                _ = try await fixture.queue.enqueue(
                    EmailTask(to: "x"), options: .init(notBefore: start, startBy: start.addingTimeInterval(-1)))
                Issue.record("a deadline before the start was accepted")
            } catch {
                #expect(error.code == .invalidHeader && error.message.contains("could never start"), "\(error)")
            }
        }
    }

    @Test func aDelayedTaskWithADeadlineAfterItsStartRuns() async throws {
        try await withProcessingFixture("delayeddeadline") { fixture in
            let start = Date().addingTimeInterval(0.5)
            _ = try await fixture.queue.enqueue(
                EmailTask(to: "x"), options: .init(id: "d-1", notBefore: start, startBy: start.addingTimeInterval(30)))
            let runs = Recorder<TaskID>()
            try await withProcessor(fixture.queue) { _, context in
                runs.record(context.id)
                return .success
            } body: {
                #expect(await eventually { runs.count == 1 })
            }
            #expect(try await fixture.queue.stats().deadLetters == 0)
        }
    }
}

/// A delayed task from another language, made as `docs/wire-format.md` §3 says.
@Suite(
    "Delayed tasks from Python",
    .enabled(
        if: TestEnvironment.serverTestsEnabled && PythonPeer.available,
        "needs nats-server, protoc and a Python with nats-py and protobuf")
)
struct PythonDelayedTaskTests {
    @Test func aPythonProducersDelayedTasksStartWhenDueWithTheirIds() async throws {
        try await PythonPeer.checkPackages()
        let url = try await SharedServer.url()
        let bindings = try await PythonPeer.generateBindings()
        defer { try? FileManager.default.removeItem(at: bindings) }
        try await withConnection(url) { connection in
            let name = uniqueName("pydelay")
            let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
            let result = try await PythonPeer.run([
                PythonPeer.interpreter, PythonPeer.script, "produce-delayed", url, name, "3", bindings.path,
            ])
            try #require(result.status == 0, "python failed: \(result.stderr)")
            struct Produced: Decodable {
                struct Item: Decodable { var id: String; var seq: UInt64; var not_before: Int64 }
                var tasks: [Item]
            }
            let produced = try JSONDecoder().decode(Produced.self, from: Data(result.stdout.utf8))
            #expect(produced.tasks.count == 3)
            let runs = Recorder<(id: String, startedAt: Int64, priority: Int32)>()
            try await whileRunning({
                try await queue.process(options: .init(concurrency: 4, fetchTimeout: .milliseconds(200))) {
                    task, context in
                    runs.record((context.id.rawValue, Int64(Date().timeIntervalSince1970 * 1000), task.priority))
                    return .success
                }
            }) {
                #expect(await eventually { runs.count == 3 })
            }
            for item in produced.tasks {
                let run = try #require(runs.all.first { $0.id == item.id }, "task \(item.id) did not run")
                #expect(
                    run.startedAt >= item.not_before, "\(item.id) started \(item.not_before - run.startedAt) ms early")
            }
            #expect(Set(runs.all.map(\.priority)) == [0, 1, 2])
        }
    }
}
