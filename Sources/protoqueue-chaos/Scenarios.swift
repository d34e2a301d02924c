import Foundation
import NATSServerHarness
import Protoqueue
import Synchronization
import TaskSchemas

#if canImport(Glibc)
import Glibc
#endif

/// Waits (bounded) until `condition` holds; returns whether it did.
@discardableResult
func waitUntil(
    _ timeout: Duration, every interval: Duration = .milliseconds(100), _ condition: () async -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return await condition()
}

/// The server name `lookup` returns within 10 s, asked every 100 ms: right after a node restarted, a Raft group may
/// be electing its leader, or the request may time out. `nil` when none came.
func leaderName(_ lookup: () -> String?) async -> String? {
    var name: String?
    _ = await waitUntil(.seconds(10)) {
        name = lookup()
        return name != nil
    }
    return name
}

enum ChaosScenarios {
    static let names = ["worker-kill", "server-restart", "cluster", "pause", "poison", "schedules", "long-tasks"]

    static func goodIDs(_ count: Int) -> [String] { (0..<count).map { String(format: "t-%07d", $0) } }

    static func run(_ name: String, tasks: Int, keep: Bool) async throws -> ChaosRun.Report {
        switch name {
        case "worker-kill": return try await workerKill(tasks: tasks, keep: keep)
        case "server-restart": return try await serverRestart(tasks: tasks, keep: keep)
        case "cluster": return try await cluster(tasks: tasks, keep: keep)
        case "pause": return try await pause(tasks: tasks, keep: keep)
        case "poison": return try await poison(tasks: tasks, keep: keep)
        case "schedules": return try await schedules(tasks: tasks, keep: keep)
        case "long-tasks": return try await longTasks(tasks: tasks, keep: keep)
        default: throw ChaosError("unknown scenario \(name); known: \(names.joined(separator: ", "))")
        }
    }

    static func drainTimeout(_ tasks: Int) -> Duration { .seconds(120 + tasks / 500) }

    /// Four workers; one is killed with SIGKILL (and replaced) five times while tasks are being processed.
    static func workerKill(tasks: Int, keep: Bool) async throws -> ChaosRun.Report {
        let run = try ChaosRun(scenario: "worker-kill", tasks: tasks)
        defer { run.cleanUp(keep: keep) }
        try run.startSingleServer()
        let (connection, queue) = try await run.connectAndOpenQueue()
        try await run.enqueueAll(goodIDs(tasks), queue: queue)
        let concurrency = 8
        for index in 0..<4 { try run.startWorker(index: index, concurrency: concurrency, workMs: 1) }
        for kill in 1...5 {
            let target = tasks * kill / 7
            await waitUntil(.seconds(120)) { run.processedUniqueGood() >= target }
            run.killWorker(kill % 4)
            try run.startWorker(index: kill % 4, concurrency: concurrency, workMs: 1)
        }
        let (drain, stats) = await run.drain(queue: queue, timeout: drainTimeout(tasks))
        await connection.close()
        // A killed worker loses at most what it held: its in-flight handlers (concurrency) whose acks were not sent.
        return run.report(
            drainSeconds: drain, duplicateLimit: 5 * concurrency, extraChecks: [("stream empty", stats?.messages == 0)],
            finalStats: stats)
    }

    /// One server; kill -9 and restart (same store) twice during enqueueBatch and once during processing.
    static func serverRestart(tasks: Int, keep: Bool) async throws -> ChaosRun.Report {
        let run = try ChaosRun(scenario: "server-restart", tasks: tasks)
        defer { run.cleanUp(keep: keep) }
        try run.startSingleServer()
        let server = run.servers[0]
        let (connection, queue) = try await run.connectAndOpenQueue()
        let killer = Task {
            for fraction in [3, 6] {
                let target = tasks * fraction / 10
                await waitUntil(.seconds(120), every: .milliseconds(5)) { run.acked.withLock { $0.count } >= target }
                server.kill9()
                run.fault("kill -9 nats-server during enqueueBatch (\(run.acked.withLock { $0.count }) acknowledged)")
                try? await Task.sleep(for: .milliseconds(500))
                try server.start()
            }
        }
        try await run.enqueueAll(goodIDs(tasks), queue: queue)
        try await killer.value
        for index in 0..<2 { try run.startWorker(index: index, workMs: 0) }
        await waitUntil(.seconds(120), every: .milliseconds(5)) { run.processedUniqueGood() >= tasks / 2 }
        server.kill9()
        run.fault("kill -9 nats-server during processing (\(run.processedUniqueGood()) processed)")
        try? await Task.sleep(for: .milliseconds(500))
        try server.start()
        let (drain, stats) = await run.drain(queue: queue, timeout: drainTimeout(tasks))
        let leftovers = await run.streamEmptyAfterRecovery(queue: queue, stats: stats)
        await connection.close()
        return run.report(
            drainSeconds: drain, duplicateLimit: nil, extraChecks: leftovers.checks, extra: leftovers.field,
            finalStats: stats)
    }

    /// Three nodes, replicas 3: kill the stream leader during enqueue, later (workers running) the consumer leader
    /// during processing; each restarted after 5 s.
    static func cluster(tasks: Int, keep: Bool) async throws -> ChaosRun.Report {
        let run = try ChaosRun(scenario: "cluster", tasks: tasks, replicas: 3)
        defer { run.cleanUp(keep: keep) }
        try run.startCluster()
        let (connection, queue) = try await run.connectAndOpenQueue()
        let raw = try RawJetStream(servers: run.urls)
        let streamFault = Task {
            await waitUntil(.seconds(120), every: .milliseconds(5)) { run.acked.withLock { $0.count } >= tasks / 3 }
            if let leader = await leaderName({ raw.streamLeader(queue.layout.streamName) }),
                let node = run.server(named: leader)
            {
                node.kill9()
                run.fault(
                    "kill -9 stream leader \(leader) during enqueueBatch (\(run.acked.withLock { $0.count }) "
                        + "acknowledged)"
                )
                try? await Task.sleep(for: .seconds(5))
                try node.start(timeout: 30)
            } else {
                run.log("no stream leader found")
            }
        }
        try await run.enqueueAll(goodIDs(tasks), queue: queue)
        try await streamFault.value
        for index in 0..<2 { try run.startWorker(index: index, workMs: 0) }
        await waitUntil(.seconds(300), every: .milliseconds(5)) { run.processedUniqueGood() >= tasks / 3 }
        if let leader = await leaderName({
            raw.consumerLeader(stream: queue.layout.streamName, consumer: queue.layout.consumerName)
        }),
            let node = run.server(named: leader)
        {
            node.kill9()
            run.fault("kill -9 consumer leader \(leader) during processing (\(run.processedUniqueGood()) processed)")
            try? await Task.sleep(for: .seconds(5))
            try node.start(timeout: 30)
        } else {
            run.log("no consumer leader found")
        }
        let (drain, stats) = await run.drain(queue: queue, timeout: drainTimeout(tasks))
        let leftovers = await run.streamEmptyAfterRecovery(queue: queue, stats: stats)
        await connection.close()
        return run.report(
            drainSeconds: drain, duplicateLimit: nil,
            extraChecks: leftovers.checks + [("2 leaders killed", run.faults.count == 2)],
            extra: leftovers.field, finalStats: stats)
    }

    /// Three workers; one is stopped (SIGSTOP) for twice the ack wait plus a second, then resumed.
    static func pause(tasks: Int, keep: Bool) async throws -> ChaosRun.Report {
        let run = try ChaosRun(scenario: "pause", tasks: tasks)
        defer { run.cleanUp(keep: keep) }
        try run.startSingleServer()
        let (connection, queue) = try await run.connectAndOpenQueue()
        try await run.enqueueAll(goodIDs(tasks), queue: queue)
        for index in 0..<3 { try run.startWorker(index: index, workMs: 2) }
        await waitUntil(.seconds(120)) { run.processedUniqueGood() >= tasks / 4 }
        let paused = try requireWorker(run.worker(0))
        paused.signal(SIGSTOP)
        let stopFor = run.ackWait * 2 + .seconds(1)
        run.fault("SIGSTOP worker 0 (pid \(paused.pid)) for \(stopFor)")
        try await Task.sleep(for: stopFor)
        paused.signal(SIGCONT)
        let (drain, stats) = await run.drain(queue: queue, timeout: drainTimeout(tasks))
        await connection.close()
        // The paused worker held at most its concurrency (8) tasks; they were redelivered and then finished by it too.
        return run.report(
            drainSeconds: drain, duplicateLimit: 8, extraChecks: [("stream empty", stats?.messages == 0)],
            finalStats: stats)
    }

    /// Good tasks mixed with failing ones (the handler throws; max 3 deliveries) and poison (bytes that are not a
    /// task): every bad one in the dead-letter stream exactly once, the work stream empty, stats agreeing.
    static func poison(tasks: Int, keep: Bool) async throws -> ChaosRun.Report {
        let run = try ChaosRun(scenario: "poison", tasks: tasks, maxDeliveries: 3)
        defer { run.cleanUp(keep: keep) }
        try run.startSingleServer()
        let (connection, queue) = try await run.connectAndOpenQueue()
        let badEach = max(10, tasks / 20)
        let failing = (0..<badEach).map { String(format: "f-%07d", $0) }
        let poison = (0..<badEach).map { String(format: "p-%07d", $0) }
        var ids = goodIDs(tasks) + failing
        var generator = SystemRandomNumberGenerator()
        ids.shuffle(using: &generator)
        for index in 0..<2 { try run.startWorker(index: index, workMs: 0) }
        let raw = try RawJetStream(servers: run.urls)
        let poisonTask = Task.detached {
            var stored = 0
            for id in poison
            where raw.publishPoison(subject: queue.layout.readySubject, id: id, typeName: EmailTask.protoMessageName) {
                stored += 1
            }
            return stored
        }
        try await run.enqueueAll(ids, queue: queue)
        let poisonStored = await poisonTask.value
        let expectedDead = UInt64(failing.count + poisonStored)
        let (drain, stats) = await run.drain(queue: queue, deadLetters: expectedDead, timeout: drainTimeout(tasks))
        let letters =
            (try? await queue.deadLetters().prefix(Int(expectedDead) + 100).reduce(into: [DeadLetter<EmailTask>]()) {
                $0.append($1)
            }) ?? []
        let letterIDs = letters.compactMap(\.id?.rawValue)
        let uniqueLetters = Set(letterIDs)
        let failingProcessed = run.processed().filter { $0.key.hasPrefix("f-") }
        await connection.close()
        let checks: [(String, Bool)] = [
            ("poison stored", poisonStored == poison.count),
            ("dead letters = failing + poison", stats?.deadLetters == expectedDead),
            ("each dead letter once", letterIDs.count == uniqueLetters.count && uniqueLetters == Set(failing + poison)),
            ("work stream empty", stats?.messages == 0),
            ("no pending", stats?.pending == 0 && stats?.ackPending == 0),
            (
                "failing tried 3 times each",
                failingProcessed.count == failing.count && failingProcessed.values.allSatisfy { $0 == 3 }
            ),
        ]
        return run.report(
            drainSeconds: drain, duplicateLimit: 0, extraChecks: checks,
            extra:
                "failing=\(failing.count) poison=\(poisonStored) dead_letters=\(stats?.deadLetters ?? 0) "
                + "dead_letter_ids_unique=\(uniqueLetters.count)",
            finalStats: stats)
    }
}

func requireWorker(_ process: OwnedProcess?) throws -> OwnedProcess {
    guard let process else { throw ChaosError("worker not running") }
    return process
}
