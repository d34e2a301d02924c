import Foundation
import NATSTestSupport
import Protoqueue
import ProtoqueueTesting
import TaskSchemas
import Testing

/// Priority tiers: weighted shares and strict order on the in-memory transport, tier consumers on a server.
@Suite("Priority tiers")
struct PriorityTests {
    private static func tiered(_ priorities: Priorities) -> QueueConfiguration {
        var configuration = QueueConfiguration(consumer: .init(ackWait: .seconds(5), maxDeliveries: 3))
        configuration.priorities = priorities
        return configuration
    }

    /// Enqueues `count` tasks into each of `tiers`, then processes them with `concurrency` handlers of `work` each,
    /// and returns the tier of each started task in start order (the first `starts`).
    private func starts(
        on connection: NATSConnection, _ priorities: Priorities, tiers: [String], count: Int, concurrency: Int,
        starts wanted: Int
    ) async throws -> [String] {
        let queue = try await Queue<EmailTask>(
            connection: connection, name: uniqueName("prio"), configuration: Self.tiered(priorities),
            logger: testLogger())
        for tier in tiers {
            let items = (0..<count).map {
                EnqueueItem(EmailTask(to: "\(tier)\($0)@example.com", subject: tier), options: .init(priority: tier))
            }
            for result in try await queue.enqueueBatch(items) { _ = try result.get() }
        }
        let started = Recorder<String>()
        try await withProcessor(queue, options: ProcessOptions(concurrency: concurrency)) { task, context in
            started.record(String(context.subject.split(separator: ".").last ?? ""))
            #expect(context.headers["Protoqueue-Priority"] == task.subject)
            try await Task.sleep(for: .milliseconds(2))
            return .success
        } body: {
            #expect(await eventually(timeout: .seconds(30)) { started.count >= wanted })
        }
        return Array(started.all.prefix(wanted))
    }

    @Test func backloggedTiersShareAWorkerByWeight() async throws {
        let server = InMemoryQueueServer()
        let tiers = ["high", "normal", "low"]
        let order = try await starts(
            on: server.connection, .weighted(["high": 6, "normal": 3, "low": 1], default: "normal"), tiers: tiers,
            count: 300, concurrency: 20, starts: 300)
        await server.connection.close()
        for (tier, weight) in zip(tiers, [0.6, 0.3, 0.1]) {
            let share = Double(order.filter { $0 == tier }.count) / Double(order.count)
            #expect(abs(share - weight) < 0.08, "tier \(tier): \(share)")
        }
    }

    @Test func strictTiersServeTheFirstTierFirst() async throws {
        let server = InMemoryQueueServer()
        let order = try await starts(
            on: server.connection, .strict(["urgent", "bulk"], default: "bulk"), tiers: ["bulk", "urgent"],
            count: 100, concurrency: 4, starts: 150)
        await server.connection.close()
        // Every urgent task starts before the bulk backlog gets more than the slots it held when urgent work came.
        let lastUrgent = try #require(order.lastIndex(of: "urgent"))
        #expect(order.prefix(lastUrgent).filter { $0 == "bulk" }.count <= 4)
    }

    /// An idle strict tier probes for work on no slot while the tier after it waits: with one slot and 5 s pull
    /// requests, the bulk tier is not held back by the urgent tier's open request.
    @Test func anIdleStrictTierHoldsNoSlotFromTheNext() async throws {
        let server = InMemoryQueueServer()
        let queue = try await Queue<EmailTask>(
            connection: server.connection, name: "idle-strict",
            configuration: Self.tiered(.strict(["urgent", "bulk"], default: "bulk")), logger: testLogger())
        let items = (0..<20).map { EnqueueItem(EmailTask(to: "b\($0)@example.com"), options: .init(priority: "bulk")) }
        for result in try await queue.enqueueBatch(items) { _ = try result.get() }
        let started = Recorder<String>()
        let options = ProcessOptions(concurrency: 1, fetchTimeout: .seconds(5))
        try await withProcessor(queue, options: options) { task, _ in
            started.record(task.to)
            return .success
        } body: {
            #expect(await eventually(timeout: .seconds(4)) { started.count == 20 }, "started \(started.count)")
        }
        await server.connection.close()
    }

    @Test func aTierTheQueueDoesNotHaveIsRefused() async throws {
        let server = InMemoryQueueServer()
        let queue = try await Queue<EmailTask>(
            connection: server.connection, name: "refuse",
            configuration: Self.tiered(.weighted(["a": 1, "b": 1], default: "a")), logger: testLogger())
        let error = await failure { () async throws(ProtoqueueError) in
            _ = try await queue.enqueue(EmailTask(to: "x@example.com"), options: .init(priority: "c"))
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("priority \"c\" is not a tier") == true)
        await server.connection.close()
    }

    @Test(.enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
    func aServerGetsOneConsumerPerTierAndAForeignProducerPicksTheTierBySubject() async throws {
        let url = try await SharedServer.url()
        try await withConnection(url) { connection in
            let name = uniqueName("prio")
            let opened: Result<Queue<EmailTask>, ProtoqueueError>
            do {
                opened = .success(
                    try await Queue<EmailTask>(
                        connection: connection, name: name,
                        configuration: Self.tiered(.weighted(["high": 3, "low": 1], default: "low")),
                        logger: testLogger()))
            } catch let error as ProtoqueueError {
                opened = .failure(error)
            }
            guard case .success(let queue) = opened else {
                guard case .failure(let error) = opened else { return }
                #expect(error.code == .unsupportedByServer)
                #expect(error.message.contains("nats-server 2.11 or later"))
                return
            }
            let raw = try RawNATS(url: url)
            var headers = foreignHeaders(id: "from-python")
            headers["Protoqueue-Priority"] = "high"
            _ = try raw.publish(
                subject: "protoqueue.\(name).ready.high", data: try EmailTask(to: "f@example.com").serializedBytes(),
                headers: headers)
            _ = try await queue.enqueue(EmailTask(to: "s@example.com"), options: .init(id: "swift-low"))
            let seen = Recorder<(TaskID, String)>()
            try await withProcessor(queue) { _, context in
                seen.record((context.id, context.consumer))
                return .success
            } body: {
                #expect(await eventually { seen.count == 2 })
            }
            let consumers = Dictionary(seen.all.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
            #expect(consumers["from-python"] == "\(name)-workers-tier-high")
            #expect(consumers["swift-low"] == "\(name)-workers-tier-low")
            #expect(try await queue.stats().messages == 0)
        }
    }
}

/// A producer in another language picks the tier by subject, as `docs/wire-format.md` §3 says.
@Suite(
    "Priority tiers from Python",
    .enabled(
        if: TestEnvironment.serverTestsEnabled && PythonPeer.available,
        "needs nats-server, protoc and a Python with nats-py and protobuf")
)
struct PythonPriorityTests {
    @Test func aPythonProducerPicksTheTierBySubject() async throws {
        try await PythonPeer.checkPackages()
        let url = try await SharedServer.url()
        let bindings = try await PythonPeer.generateBindings()
        defer { try? FileManager.default.removeItem(at: bindings) }
        try await withConnection(url) { connection in
            let name = uniqueName("pytier")
            var configuration = QueueConfiguration()
            configuration.priorities = .strict(["urgent", "bulk"], default: "bulk")
            let opened: Queue<InteropTask>
            do {
                opened = try await Queue<InteropTask>(
                    connection: connection, name: name, configuration: configuration, logger: testLogger())
            } catch let error as ProtoqueueError where error.code == .unsupportedByServer {
                return  // nats-server before 2.11: PriorityTests checks the refusal.
            }
            let queue = opened
            for index in 0..<5 {
                _ = try await queue.enqueue(
                    InteropTask(to: "bulk\(index)"), options: .init(id: TaskID("swift-\(index)")))
            }
            let result = try await PythonPeer.run([
                PythonPeer.interpreter, PythonPeer.script, "produce-tier", url, name, "5", bindings.path, "urgent",
            ])
            #expect(result.status == 0, "python failed: \(result.stderr)")
            let order = Recorder<String>()
            try await whileRunning({
                try await queue.process(options: .init(concurrency: 1, fetchTimeout: .milliseconds(200))) {
                    _, context in
                    order.record(context.id.rawValue)
                    return .success
                }
            }) {
                #expect(await eventually { order.count == 10 })
            }
            // The urgent tier is served first although its tasks were stored last.
            #expect(order.all.prefix(5).allSatisfy { $0.hasPrefix("py-urgent-") }, "\(order.all)")
        }
    }
}
