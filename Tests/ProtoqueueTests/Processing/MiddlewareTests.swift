import Foundation
import NATSTestSupport
import Protoqueue
import Synchronization
import TaskSchemas
import Testing

/// Records every hook call, and can add metadata and a header, refuse tasks, or change a handler's result.
final class RecordingMiddleware: QueueMiddleware {
    let label: String
    let events: Recorder<String>
    let settlements = Recorder<TaskSettlement>()
    let refuse: @Sendable (OutgoingTask) -> Bool
    let replace: @Sendable (TaskResult) -> TaskResult?

    init(
        _ label: String, events: Recorder<String>, refuse: @escaping @Sendable (OutgoingTask) -> Bool = { _ in false },
        replace: @escaping @Sendable (TaskResult) -> TaskResult? = { _ in nil }
    ) {
        self.label = label
        self.events = events
        self.refuse = refuse
        self.replace = replace
    }

    func willEnqueue(_ task: inout OutgoingTask) async throws(ProtoqueueError) {
        events.record("\(label).enqueue \(task.id)")
        if refuse(task) { throw ProtoqueueError(.refused, "\(label) refuses \(task.id)") }
        task.metadata["seen-by-\(label)"] = "yes"
        task.headers["x-\(label)"] = "\(task.id)"
    }

    func send(
        _ operation: EnqueueOperation, next: () async throws(ProtoqueueError) -> EnqueueOutcome
    ) async throws(ProtoqueueError) -> EnqueueOutcome {
        events.record("\(label).send \(operation.kind)")
        do {
            let outcome = try await next()
            let counts = "\(outcome.succeeded)/\(outcome.failed)"
            events.record("\(label).sent \(outcome.receipt.map { "\($0.id)" } ?? counts)")
            return outcome
        } catch {
            events.record("\(label).not sent \(error.code)")
            throw error
        }
    }

    func process(
        _ task: any ProtoqueueMessage, context: TaskContext, next: () async throws -> TaskResult
    ) async throws -> TaskResult {
        events.record("\(label).before \(context.id)")
        let result = try await next()
        events.record("\(label).after \(context.id)")
        return replace(result) ?? result
    }

    func settled(_ settlement: TaskSettlement) async {
        events.record("\(label).settled \(settlement.id.map { "\($0)" } ?? "-")")
        settlements.record(settlement)
    }
}

@Suite(
    "Middleware", .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct MiddlewareTests {
    static let idle = ProcessOptions(concurrency: 1, fetchTimeout: .milliseconds(100), stopWhenIdle: true)

    func queue(
        _ connection: NATSConnection, name: String, middleware: [any QueueMiddleware], maxDeliveries: Int = 2
    ) async throws -> Queue<EmailTask> {
        var configuration = QueueConfiguration(retry: .fixed(.milliseconds(50)))
        configuration.consumer.maxDeliveries = maxDeliveries
        return try await Queue<EmailTask>(
            connection: connection, name: name, configuration: configuration, middleware: middleware,
            logger: testLogger())
    }

    @Test func hooksRunInListOrderAroundEnqueueHandlerAndSettlement() async throws {
        let url = try await SharedServer.url()
        try await withConnection(url) { connection in
            let events = Recorder<String>()
            let outer = RecordingMiddleware("a", events: events)
            let inner = RecordingMiddleware("b", events: events)
            let queue = try await queue(connection, name: uniqueName("mw"), middleware: [outer, inner])
            let receipt = try await queue.enqueue(EmailTask(to: "x@example.com"), options: .init(id: "t-1"))
            let seen = Recorder<TaskContext>()
            try await queue.process(options: Self.idle) { _, context in
                events.record("handler \(context.id)")
                seen.record(context)
                return .success
            }
            #expect(
                events.all == [
                    "a.send single", "b.send single", "a.enqueue t-1", "b.enqueue t-1", "b.sent t-1", "a.sent t-1",
                    "a.before t-1", "b.before t-1", "handler t-1", "b.after t-1",
                    "a.after t-1", "a.settled t-1", "b.settled t-1",
                ])
            let context = try #require(seen.all.first)
            #expect(context.queue == queue.name)
            #expect(context.metadata == ["seen-by-a": "yes", "seen-by-b": "yes"])
            #expect(context.headers["x-a"] == "t-1" && context.headers["x-b"] == "t-1")
            let settlement = try #require(outer.settlements.all.first)
            #expect(settlement.outcome == .acknowledged)
            #expect(settlement.taskType == EmailTask.protoMessageName && settlement.sequence == receipt.sequence)
        }
    }

    @Test func batchesRunTheSameHooksAndARefusalFailsOnlyThatTask() async throws {
        let url = try await SharedServer.url()
        try await withConnection(url) { connection in
            let events = Recorder<String>()
            let guardrail = RecordingMiddleware("g", events: events, refuse: { $0.id == "t-2" })
            let queue = try await queue(connection, name: uniqueName("mwbatch"), middleware: [guardrail])
            let items = (0..<4).map { EnqueueItem(EmailTask(to: "u\($0)@example.com"), options: .init(id: "t-\($0)")) }
            let results = try await queue.enqueueBatch(items)
            #expect(results.map { (try? $0.get()) != nil } == [true, true, false, true])
            if case .failure(let error) = results[2] {
                #expect(error.code == .refused && error.message.contains("t-2"), "\(error)")
            }
            #expect(
                events.all == [
                    "g.send batch(count: Optional(4))", "g.enqueue t-0", "g.enqueue t-1", "g.enqueue t-2",
                    "g.enqueue t-3", "g.sent 3/1",
                ])
            #expect(try await queue.stats().messages == 3)
            do throws(ProtoqueueError) {
                _ = try await queue.enqueue(EmailTask(to: "again@example.com"), options: .init(id: "t-2"))
                Issue.record("a refused single enqueue succeeded")
            } catch {
                #expect(error.code == .refused)
            }
            #expect(events.all.suffix(3) == ["g.send single", "g.enqueue t-2", "g.not sent refused"])
        }
    }

    struct Outage: Error, CustomStringConvertible { var description: String { "downstream outage" } }

    @Test func middlewareCanChangeTheOutcomeAndSeesTheFinalSettlement() async throws {
        let url = try await SharedServer.url()
        try await withConnection(url) { connection in
            let events = Recorder<String>()
            // Turns every success into a failure: the task must end in the dead-letter stream.
            let spoiler = RecordingMiddleware("s", events: events, replace: { _ in .failure(Outage()) })
            let queue = try await queue(connection, name: uniqueName("mwout"), middleware: [spoiler])
            _ = try await queue.enqueue(EmailTask(to: "x@example.com"), options: .init(id: "t-1"))
            try await queue.process(options: Self.idle) { _, _ in .success }
            let settlement = try #require(spoiler.settlements.all.first)
            #expect(settlement.outcome == .deadLettered(reason: .failed, error: "downstream outage"))
            #expect(settlement.error is Outage)
            #expect(try await queue.stats().deadLetters == 1)
        }
    }

    @Test func retriesAndRefusedTasksReachTheSettlementHook() async throws {
        let url = try await SharedServer.url()
        try await withConnection(url) { connection in
            let events = Recorder<String>()
            let observer = RecordingMiddleware("o", events: events)
            let queue = try await queue(connection, name: uniqueName("mwretry"), middleware: [observer])
            _ = try await queue.enqueue(EmailTask(to: "x@example.com"), options: .init(id: "flaky"))
            var noType: [String: String] = ["Nats-Msg-Id": "foreign", "Protoqueue-Version": "1"]
            noType["Content-Type"] = "application/x-protobuf"
            let raw = try RawNATS(url: url)
            _ = try raw.publish(
                subject: queue.layout.readySubject, data: try EmailTask(to: "y").serializedBytes(), headers: noType)
            try await queue.process(options: Self.idle) { _, context in
                context.attempt == 1 ? .retry(after: .milliseconds(100)) : .success
            }
            let outcomes = observer.settlements.all.map { ($0.id, $0.outcome) }
            #expect(outcomes.contains { $0.0 == "flaky" && $0.1 == .retried(after: .milliseconds(100)) })
            #expect(outcomes.contains { $0.0 == "flaky" && $0.1 == .acknowledged })
            let refusal = "the task has no Protoqueue-Type header (its message type)"
            #expect(outcomes.contains { $0.0 == "foreign" && $0.1 == .deadLettered(reason: .decode, error: refusal) })
            #expect(outcomes.count == 3, "\(outcomes)")
        }
    }

    @Test func anInvalidExtraHeaderFailsTheTaskBeforeSending() async throws {
        struct BadHeader: QueueMiddleware {
            func willEnqueue(_ task: inout OutgoingTask) async throws(ProtoqueueError) {
                task.headers["Protoqueue-Type"] = "spoofed"
            }
        }
        let url = try await SharedServer.url()
        try await withConnection(url) { connection in
            let queue = try await queue(connection, name: uniqueName("mwbad"), middleware: [BadHeader()])
            do throws(ProtoqueueError) {
                _ = try await queue.enqueue(EmailTask(to: "x@example.com"))
                Issue.record("a reserved header was sent")
            } catch {
                #expect(error.code == .invalidHeader && error.message.contains("Protoqueue-"), "\(error)")
            }
            #expect(try await queue.stats().messages == 0)
        }
    }
}
