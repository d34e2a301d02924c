import Foundation
import NATSServerHarness
import NATSTestSupport
import TaskSchemas
import Testing

@testable import Protoqueue

/// Lifecycle events, read with `Queue.events()` on both transports.
@Suite("Lifecycle events")
struct LifecycleEventTests {
    /// Tasks whose handlers succeed, fail, discard, throw once, and throw on every attempt; a duplicate enqueue; a
    /// batch; a replay: each task's events in order, with their fields.
    @Test(arguments: Backend.available)
    func everyStateChangeIsPublishedInOrder(_ backend: Backend) async throws {
        try await withBackend(backend, maxDeliveries: 2, events: .enabled()) { env in
            let collected = Recorder<TaskEvent>()
            let events = try await env.queue.events()
            let reader = Task { for await event in events { collected.record(event) } }
            let startedAt = WallClock.unixMilliseconds()
            for subject in ["ok", "fail", "drop", "flaky", "broken"] {
                _ = try await env.queue.enqueue(
                    EmailTask(to: "x@example.com", subject: subject), options: .init(id: TaskID(subject)))
            }
            let duplicate = try await env.queue.enqueue(EmailTask(to: "x@example.com"), options: .init(id: "ok"))
            #expect(duplicate.duplicate)
            let batch = ["b1", "b2"].map { EnqueueItem(EmailTask(to: "x@example.com"), options: .init(id: TaskID($0))) }
            #expect(try await env.queue.enqueueBatch(batch).allSatisfy { (try? $0.get()) != nil })

            try await withProcessor(env.queue) { task, context in
                switch task.subject {
                case "fail": return .failure("bad input", details: [:])
                case "drop": return .discard(reason: "not wanted")
                case "flaky" where context.attempt == 1, "broken": throw TaskFailure("down")
                default: return .success
                }
            } body: {
                #expect(await eventually { collected.all.filter { $0.kind == .started }.count >= 7 })
                await env.settle()
                await env.advance(by: .milliseconds(400))
                #expect(await eventually { collected.all.filter { $0.kind == .started }.count == 9 })
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
                await env.settle()
            }
            let failed = try #require(try await env.queue.deadLetters().all().first { $0.id == "fail" })
            _ = try await env.queue.replayDeadLetter(sequence: failed.sequence)
            #expect(await eventually { collected.all.contains { $0.kind == .replayed } })
            reader.cancel()

            func kinds(_ id: String) -> [TaskEvent.Kind] { collected.all.filter { $0.taskID == id }.map(\.kind) }
            #expect(kinds("ok") == [.enqueued, .started, .succeeded])
            #expect(kinds("fail") == [.enqueued, .started, .deadLettered, .replayed])
            #expect(kinds("drop") == [.enqueued, .started, .discarded])
            #expect(kinds("flaky") == [.enqueued, .started, .retryScheduled, .started, .succeeded])
            #expect(kinds("broken") == [.enqueued, .started, .retryScheduled, .started, .deadLettered])
            #expect(kinds("b1") == [.enqueued, .started, .succeeded])
            #expect(kinds("b2") == [.enqueued, .started, .succeeded])

            let all = collected.all
            #expect(all.allSatisfy { $0.queue == env.queue.name && $0.taskType == EmailTask.protoMessageName })
            #expect(all.allSatisfy { $0.sequence > 0 && $0.timeUnixMs >= startedAt - 1000 })
            #expect(all.filter { $0.kind == .enqueued || $0.kind == .replayed }.allSatisfy { $0.attempt == 0 })
            let brokenEvents = all.filter { $0.taskID == "broken" }
            #expect(brokenEvents.map(\.attempt) == [0, 1, 1, 2, 2])
            #expect(brokenEvents[2].retryDelayMs == 300 && brokenEvents[2].error == "down")
            #expect(brokenEvents[4].reason == "retriesExhausted" && brokenEvents[4].error == "down")
            let failedEvent = try #require(all.first { $0.taskID == "fail" && $0.kind == .deadLettered })
            #expect(failedEvent.reason == "failed" && failedEvent.error == "bad input")
            #expect(all.first { $0.taskID == "drop" && $0.kind == .discarded }?.reason == "not wanted")
            #expect(env.queue.eventCounts == EventCounts(published: all.count, dropped: 0))
        }
    }

    /// `kinds:` subscribes to those kinds' subjects only.
    @Test(arguments: Backend.available)
    func aReaderCanFollowSomeKindsOnly(_ backend: Backend) async throws {
        try await withBackend(backend, events: .enabled()) { env in
            let collected = Recorder<TaskEvent>()
            let events = try await env.queue.events(kinds: [.deadLettered, .discarded])
            let reader = Task { for await event in events { collected.record(event) } }
            try await env.enqueue(3)
            try await withProcessor(env.queue) { _, context in
                context.id == "task-0" ? .failure("no", details: [:]) : .discard(reason: "skip")
            } body: {
                #expect(await eventually { collected.count == 3 })
                await env.settle()
            }
            reader.cancel()
            #expect(
                collected.all.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [
                    .deadLettered, .discarded, .discarded,
                ])
        }
    }

    /// `pause(until:)` and `resume()` publish the queue's own events, with no task fields; a server without consumer
    /// pause refuses both and publishes nothing.
    @Test(arguments: Backend.available)
    func pauseAndResumeArePublished(_ backend: Backend) async throws {
        try await withBackend(backend, events: .enabled()) { env in
            let collected = Recorder<TaskEvent>()
            let events = try await env.queue.events()
            let reader = Task { for await event in events { collected.record(event) } }
            let until = Date().addingTimeInterval(3600)
            do {
                try await env.queue.pause(until: until)
            } catch let error as ProtoqueueError where error.code == .unsupportedByServer {
                reader.cancel()
                #expect(env.queue.eventCounts == EventCounts(published: 0, dropped: 0))
                return
            }
            try await env.queue.pause()
            try await env.queue.resume()
            #expect(await eventually { collected.count == 3 })
            reader.cancel()
            #expect(collected.all.map(\.kind) == [.paused, .paused, .resumed])
            #expect(collected.all[0].pausedUntilUnixMs == Int64((until.timeIntervalSince1970 * 1000).rounded()))
            #expect(collected.all[1].pausedUntilUnixMs == 0 && collected.all[2].pausedUntilUnixMs == 0)
            #expect(collected.all.allSatisfy { $0.taskID.isEmpty && $0.sequence == 0 && $0.attempt == 0 })
            #expect(
                collected.all.allSatisfy { $0.queue == env.queue.name && $0.taskType == EmailTask.protoMessageName })
            #expect(env.queue.eventCounts == EventCounts(published: 3, dropped: 0))
        }
    }

    /// Events still buffered when the connection closes are sent before it closes.
    @Test(.enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
    func eventsBufferedAtCloseAreSent() async throws {
        let url = try await SharedServer.url()
        let listener = try await connect(url)
        let publisher = try await connect(url)
        var configuration = QueueConfiguration()
        configuration.events = .enabled()
        let name = uniqueName("close-events")
        let queue = try await Queue<EmailTask>(
            connection: publisher, name: name, configuration: configuration, logger: testLogger())
        let reader = try await Queue<EmailTask>(
            connection: listener, name: name, configuration: configuration, logger: testLogger())
        let collected = Recorder<TaskEvent>()
        let events = try await reader.events(kinds: [.enqueued])
        let follower = Task { for await event in events { collected.record(event) } }
        let batch = (0..<500).map { EnqueueItem(EmailTask(to: "c\($0)@example.com")) }
        for result in try await queue.enqueueBatch(batch) { _ = try result.get() }
        await publisher.close()
        #expect(queue.eventCounts == EventCounts(published: 500, dropped: 0))
        #expect(await eventually { collected.count == 500 })
        follower.cancel()
        await listener.close()
    }

    /// A publisher that cannot keep up (here: a subscriber of the in-memory transport that blocks it, with room
    /// for one event) drops events and counts them; every task is still processed.
    @Test func eventsThatCannotBePublishedAreDroppedAndCountedNotWaitedFor() async throws {
        try await withBackend(.memory, events: .enabled(bufferCapacity: 1)) { env in
            let slow = try await env.connection.transport.subscribeCore(subject: ">") { _, _ in
                Thread.sleep(forTimeInterval: 0.02)
            }
            defer { slow.cancel() }
            let count = 50
            try await env.enqueue(count)
            try await withProcessor(env.queue) { _, _ in
                .success
            } body: {
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
                await env.settle()
            }
            // enqueued, started and succeeded per task, each published or dropped.
            #expect(await eventually { env.queue.eventCounts.published + env.queue.eventCounts.dropped == 3 * count })
            #expect(env.queue.eventCounts.dropped > count)
        }
    }

    /// The outbox's runs: task events grouped by kind in the order of a task's life, a pause or resume keeping its
    /// place, each kind's events in their order.
    @Test func gatheredEventsAreRunsOfOneKindInTheOrderOfATasksLife() {
        func event(_ kind: TaskEvent.Kind, _ id: String) -> LifecycleEvent {
            LifecycleEvent(kind: kind, taskID: id)
        }
        var gathered = [
            event(.succeeded, "a"), event(.started, "b"), event(.enqueued, "c"), event(.succeeded, "b"),
            event(.deadLettered, "d"), event(.started, "c"), event(.paused, ""), event(.retryScheduled, "c"),
            event(.enqueued, "e"), event(.resumed, ""), event(.replayed, "d"), event(.discarded, "e"),
        ]
        let runs = QueueEvents.runs(&gathered).map { $0.map { "\(EventKinds.subjectToken($0.kind)) \($0.taskID)" } }
        #expect(
            runs == [
                ["enqueued c"], ["started b", "started c"], ["succeeded a", "succeeded b"], ["dead_lettered d"],
                ["paused "], ["enqueued e"], ["retry_scheduled c"], ["resumed "], ["replayed d"], ["discarded e"],
            ])
        #expect(gathered.allSatisfy { $0 == LifecycleEvent() })
        var none: [LifecycleEvent] = []
        #expect(QueueEvents.runs(&none).isEmpty)
        #expect(Set(EventKinds.all) == Set(EventKinds.taskLifeOrder + [.paused, .resumed]))
    }

    /// A writer of the events of the test's queue.
    private static let writer = TaskEventBatchWriter(queue: "emails", taskType: EmailTask.protoMessageName)

    /// Runs `body` with an in-memory queue and every message published on its connection from then on.
    private func withPublishedBodies(
        _ body: (BackendQueue, Recorder<[UInt8]>) async throws -> Void
    ) async throws {
        try await withBackend(.memory) { env in
            let bodies = Recorder<[UInt8]>()
            let subscription = try await env.connection.transport.subscribeCore(subject: ">") { body, _ in
                bodies.record(body)
            }
            defer { subscription.cancel() }
            try await body(env, bodies)
        }
    }

    /// A run larger than a message may carry goes out as several batches, every event in its order.
    @Test func aLargeRunIsSplitIntoBatchesOfAtMostTheLimit() async throws {
        try await withPublishedBodies { env, bodies in
            let run = (0..<300).map { index in
                LifecycleEvent(kind: .deadLettered, taskID: "task-\(index)", error: String(repeating: "x", count: 1024))
            }
            let sent = QueueEvents.publish(
                run, writer: Self.writer, layout: env.queue.layout, transport: env.connection.transport)
            #expect(sent == 300)
            #expect(
                await eventually {
                    bodies.all.flatMap { (try? TaskEventBatch(serializedBytes: $0))?.events ?? [] }.count == 300
                })
            let batches = try bodies.all.map { try TaskEventBatch(serializedBytes: $0) }
            #expect(batches.count >= 5)
            #expect(bodies.all.allSatisfy { $0.count <= QueueEvents.maxBatchBytes })
            #expect(batches.flatMap(\.events).map(\.taskID) == run.map(\.taskID))
        }
    }

    /// A handler's error may hold U+0000, which the generated encoder refuses: its batch is still published, every
    /// event in it counted.
    @Test func anErrorHoldingANullCharacterIsPublishedWithItsBatch() async throws {
        try await withPublishedBodies { env, bodies in
            let run = ["before", "null", "after"].map { id in
                LifecycleEvent(kind: .retryScheduled, taskID: id, error: id == "null" ? "bad \u{0} byte" : "failed")
            }
            let sent = QueueEvents.publish(
                run, writer: Self.writer, layout: env.queue.layout, transport: env.connection.transport)
            #expect(sent == 3)
            #expect(await eventually { bodies.all.count == 1 })
            let events = try bodies.all.flatMap { try TaskEventBatch(serializedBytes: $0).events }
            #expect(events.map(\.taskID) == ["before", "null", "after"])
        }
    }

    @Test func aLongErrorIsCutAtACharacterBoundary() {
        let text = String(repeating: "a", count: 1023) + "é" + "tail"
        let cut = QueueEvents.truncated(text)
        #expect(cut == String(repeating: "a", count: 1023))
        #expect(QueueEvents.truncated("short") == "short")
        #expect(QueueEvents.truncated(String(repeating: "b", count: 2000)).utf8.count == 1024)
    }
}
