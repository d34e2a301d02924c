import Foundation
import Testing

@testable import Protoqueue
@testable import TaskSchemas

/// Unique tasks on a real server: one stored per key under contention, each scope's release, and locks whose
/// producer or task is gone.
@Suite("Unique tasks")
struct UniqueTaskTests {
    static func unique(_ key: String, _ scope: Uniqueness.Scope = .untilFinished, id: TaskID) -> EnqueueOptions {
        EnqueueOptions(id: id, unique: .init(key: key, scope: scope))
    }

    @Test func fiftyProducersEnqueueingOneKeyAtOnceStoreOneTask() async throws {
        let url = try await SharedServer.url()
        let name = uniqueName("uniquefifty")
        var connections: [NATSConnection] = []
        var queues: [Queue<EmailTask>] = []
        for _ in 0..<5 {
            let connection = try await connect(url)
            connections.append(connection)
            queues.append(try await Queue<EmailTask>(connection: connection, name: name, logger: testLogger()))
        }
        let receipts = try await withThrowingTaskGroup(of: EnqueueReceipt.self) { group in
            for index in 0..<50 {
                let queue = queues[index % queues.count]
                group.addTask {
                    try await queue.enqueue(
                        EmailTask(to: "\(index)"), options: Self.unique("report-2026-12-05", id: "producer-\(index)"))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let stored = receipts.filter { !$0.duplicate }
        #expect(stored.count == 1, "\(stored.map(\.id))")
        #expect(Set(receipts.map(\.id)).count == 1)
        #expect(Set(receipts.map(\.sequence)) == [stored.first?.sequence ?? 0])
        let stats = try await queues[0].stats()
        #expect(stats.messages == 1 && stats.pending == 1, "\(stats)")
        for connection in connections { await connection.close() }
    }

    @Test func untilFinishedHoldsTheKeyThroughRetriesAndFreesItWhenTheTaskIsDone() async throws {
        try await withProcessingFixture("uniquefinished", retry: .fixed(.milliseconds(200))) { fixture in
            let queue = fixture.queue
            let first = try await queue.enqueue(EmailTask(to: "a"), options: Self.unique("k", id: "first"))
            #expect(!first.duplicate)
            let second = try await queue.enqueue(EmailTask(to: "b"), options: Self.unique("k", id: "second"))
            #expect(second.duplicate && second.id == "first" && second.sequence == first.sequence)
            let runs = Recorder<Int>()
            let duringRetry = Recorder<EnqueueReceipt>()
            try await withProcessor(queue) { _, context in
                runs.record(context.attempt)
                if context.attempt == 1 {
                    duringRetry.record(try await queue.enqueue(EmailTask(to: "c"), options: Self.unique("k", id: "c")))
                    throw HandlerFailure(description: "once")
                }
                return .success
            } body: {
                #expect(await eventually { runs.count == 2 })
                #expect(await eventually { (try? await queue.stats().messages) == 0 })
            }
            #expect(duringRetry.all.first?.duplicate == true)
            let after = try await queue.enqueue(EmailTask(to: "d"), options: Self.unique("k", id: "after"))
            #expect(!after.duplicate && after.id == "after")
            let subject = try await queue.peek(sequence: after.sequence).subject
            #expect(subject == queue.layout.readySubject + ".unique.aw")
        }
    }

    @Test func untilStartedFreesTheKeyWhenAWorkerStartsTheTask() async throws {
        try await withProcessingFixture("uniquestarted") { fixture in
            let queue = fixture.queue
            _ = try await queue.enqueue(EmailTask(to: "a"), options: Self.unique("k", .untilStarted, id: "first"))
            let waiting = try await queue.enqueue(EmailTask(to: "b"), options: Self.unique("k", .untilStarted, id: "b"))
            #expect(waiting.duplicate && waiting.id == "first")
            let whileRunning = Recorder<EnqueueReceipt>()
            try await withProcessor(queue) { _, context in
                if context.id == "first" {
                    whileRunning.record(
                        try await queue.enqueue(EmailTask(to: "c"), options: Self.unique("k", .untilStarted, id: "c")))
                }
                return .success
            } body: {
                #expect(await eventually { (try? await queue.stats().messages) == 0 && whileRunning.count == 1 })
            }
            #expect(whileRunning.all.first?.duplicate == false && whileRunning.all.first?.id == "c")
        }
    }

    @Test func aDurationHoldsTheKeyWhateverHappensToTheTask() async throws {
        try await withProcessingFixture("uniqueduration") { fixture in
            let queue = fixture.queue
            let scope = Uniqueness.Scope.for(.seconds(5))
            let takenAt = ContinuousClock.now
            _ = try await queue.enqueue(EmailTask(to: "a"), options: Self.unique("k", scope, id: "first"))
            try await withProcessor(queue) { _, _ in
                .success
            } body: {
                #expect(await eventually { (try? await queue.stats().messages) == 0 })
            }
            // Done, yet the key stays taken until 5 s after the first enqueue.
            if ContinuousClock.now - takenAt < .seconds(4) {
                let during = try await queue.enqueue(EmailTask(to: "b"), options: Self.unique("k", scope, id: "b"))
                #expect(during.duplicate && during.id == "first" && during.sequence == 0)
                do throws(ProtoqueueError) {
                    let failing = EnqueueOptions(id: "c", unique: .init(key: "k", scope: scope, onDuplicate: .fail))
                    _ = try await queue.enqueue(EmailTask(to: "c"), options: failing)
                    Issue.record("a duplicate was accepted")
                } catch {
                    #expect(error.code == .duplicate && error.message.contains("task first"), "\(error)")
                }
            }
            try await Task.sleep(until: takenAt + .milliseconds(5100))
            let later = try await queue.enqueue(EmailTask(to: "d"), options: Self.unique("k", scope, id: "d"))
            #expect(!later.duplicate)
        }
    }

    @Test func aLockWhoseProducerDiedBeforeStoringTheTaskExpiresAfterItsGrace() async throws {
        try await withProcessingFixture("uniquestale") { fixture in
            let queue = fixture.queue
            // A producer that took the key 31 s ago and died before storing its task.
            let stale = UniqueLock(
                key: "k", scope: .untilFinished, taskID: "lost",
                lockedAt: Int64(Date().timeIntervalSince1970 * 1000) - 31_000)
            _ = try await queue.connection.transport.publish(
                PreparedMessage(
                    subject: queue.layout.uniqueLockSubject(UniqueLock.token("k")),
                    headers: stale.headers(expectingLast: 0), body: [], id: "lost"),
                maxAttempts: 1)
            let receipt = try await queue.enqueue(EmailTask(to: "a"), options: Self.unique("k", id: "fresh"))
            #expect(!receipt.duplicate && receipt.id == "fresh")
            #expect(try await queue.stats().schedules == 0)
        }
    }

    @Test func aBatchRefusesAUniqueTaskByItsKey() async throws {
        try await withProcessingFixture("uniquebatch") { fixture in
            let results = try await fixture.queue.enqueueBatch([
                EnqueueItem(EmailTask(to: "a"), options: Self.unique("k", id: "u")), EnqueueItem(EmailTask(to: "b")),
            ])
            guard case .failure(let error) = results[0] else {
                Issue.record("the unique item was enqueued")
                return
            }
            #expect(error.code == .invalidConfiguration && error.message.contains("\"k\""))
            #expect((try? results[1].get()) != nil)
        }
    }
}

/// A unique task from another language, made as `docs/wire-format.md` §3 says.
@Suite(
    "Unique tasks from Python",
    .enabled(
        if: TestEnvironment.serverTestsEnabled && PythonPeer.available,
        "needs nats-server, protoc and a Python with nats-py and protobuf")
)
struct PythonUniqueTaskTests {
    @Test func aPythonProducersUniqueTaskTakesTheKeyForSwiftAndTheOtherWayRound() async throws {
        try await PythonPeer.checkPackages()
        let url = try await SharedServer.url()
        let bindings = try await PythonPeer.generateBindings()
        defer { try? FileManager.default.removeItem(at: bindings) }
        try await withConnection(url) { connection in
            let name = uniqueName("pyunique")
            let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
            struct Produced: Decodable {
                var stored: Bool
                var id: String?
                var holder: String?
            }
            func python(_ key: String) async throws -> Produced {
                let result = try await PythonPeer.run([
                    PythonPeer.interpreter, PythonPeer.script, "produce-unique", url, name, "1", bindings.path, key,
                ])
                #expect(result.status == 0, "python failed: \(result.stderr)")
                return try JSONDecoder().decode(Produced.self, from: Data(result.stdout.utf8))
            }
            let fromPython = try await python("invoice-7")
            #expect(fromPython.stored)
            let swift = try await queue.enqueue(
                InteropTask(to: "x"), options: .init(id: "swift-1", unique: .init(key: "invoice-7")))
            #expect(swift.duplicate && swift.id.rawValue == fromPython.id)
            _ = try await queue.enqueue(InteropTask(to: "y"), options: .init(id: "swift-2", unique: .init(key: "ü 8")))
            let again = try await python("ü 8")
            #expect(!again.stored && again.holder == "swift-2")
            let runs = Recorder<String>()
            try await whileRunning({
                try await queue.process(options: .init(concurrency: 2, fetchTimeout: .milliseconds(200))) {
                    _, context in
                    runs.record(context.id.rawValue)
                    return .success
                }
            }) {
                #expect(await eventually { runs.count == 2 })
            }
            #expect(Set(runs.all) == [fromPython.id ?? "", "swift-2"])
        }
    }
}
