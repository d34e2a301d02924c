import Foundation
import NATSServerHarness
import Protoqueue
import TaskSchemas

extension ChaosScenarios {
    /// Three application instances declare the same 1-second schedule and process the queue for 60 s (CI) or 600 s
    /// (full, `--tasks` ≥ 100,000) while, every minute, one instance is killed and restarted, the server is killed
    /// and restarted, and another instance is killed and restarted. Delayed tasks due at times spread over the run
    /// wait across the server restarts. Every tick from the first after the declaration to 2 s before the schedule
    /// is removed must be stored exactly once (one stream sequence per tick id) and processed; every delayed task
    /// processed, none before it was due.
    static func schedules(tasks: Int, keep: Bool) async throws -> ChaosRun.Report {
        let minutes = tasks >= 100_000 ? 10 : 1
        let run = try ChaosRun(scenario: "schedules", tasks: tasks)
        defer { run.cleanUp(keep: keep) }
        try run.startSingleServer()
        let server = run.servers[0]
        let (connection, queue) = try await run.connectAndOpenQueue()
        let start = Date()
        let delayed = try await enqueueDelayed(
            count: 500 * minutes, over: Double(minutes * 60), from: start, queue: queue, run: run)
        let name = "pulse"
        try await queue.declareSchedule(
            TaskSchedule(name: name, timing: .every(.seconds(1))), task: ChaosRun.task(name))
        let firstTick = (Int64(Date().timeIntervalSince1970) + 1) * 1000
        for index in 0..<3 { try run.startWorker(index: index, schedule: name) }
        for minute in 0..<minutes {
            try await Task.sleep(for: .seconds(15))
            run.killWorker(minute % 3)
            try await Task.sleep(for: .seconds(2))
            try run.startWorker(index: minute % 3, schedule: name)
            try await Task.sleep(for: .seconds(13))
            server.kill9()
            run.fault("kill -9 nats-server (minute \(minute + 1))")
            try await Task.sleep(for: .seconds(1))
            try server.start()
            try await Task.sleep(for: .seconds(14))
            run.killWorker((minute + 1) % 3)
            try await Task.sleep(for: .seconds(2))
            try run.startWorker(index: (minute + 1) % 3, schedule: name)
            try await Task.sleep(for: .seconds(13))
        }
        let lastTick = (Int64(Date().timeIntervalSince1970) - 2) * 1000
        try await queue.removeSchedule(named: name)
        // The instances stop firing within their 10 s refresh; then the queue drains.
        try await Task.sleep(for: .seconds(11))
        let (drain, stats) = await run.drain(queue: queue, timeout: drainTimeout(tasks))
        let leftovers = await run.streamEmptyAfterRecovery(queue: queue, stats: stats)
        await connection.close()

        let entries = run.ledgerEntries()
        var tickSequences: [Int64: Set<UInt64>] = [:]
        for entry in entries where entry.id.hasPrefix("\(name)@") {
            tickSequences[entry.due, default: []].insert(entry.sequence)
        }
        run.markAttempted(entries.map(\.id).filter { $0.hasPrefix("\(name)@") })
        let expected = Array(stride(from: firstTick, through: lastTick, by: 1000))
        let missingTicks = expected.filter { tickSequences[$0] == nil }
        let storedTwice = tickSequences.filter { $0.value.count > 1 }.keys.sorted()
        let delayedEntries = entries.filter { $0.id.hasPrefix("d-") }
        let missingDelayed = Set(delayed).subtracting(delayedEntries.map(\.id))
        let early = delayedEntries.filter { $0.startedAt < $0.due }
        if !missingTicks.isEmpty { run.log("missing ticks: \(missingTicks.prefix(20))") }
        if !storedTwice.isEmpty { run.log("ticks stored twice: \(storedTwice.prefix(20))") }
        if !early.isEmpty { run.log("delayed tasks started early: \(early.prefix(5).map(\.line))") }
        return run.report(
            drainSeconds: drain, duplicateLimit: nil,
            extraChecks: leftovers.checks + [
                ("every tick stored", missingTicks.isEmpty), ("no tick stored twice", storedTwice.isEmpty),
                ("every delayed task processed", missingDelayed.isEmpty), ("no delayed task early", early.isEmpty),
            ],
            extra:
                "ticks_expected=\(expected.count) ticks_stored=\(tickSequences.count) "
                + "missing_ticks=\(missingTicks.count) ticks_stored_twice=\(storedTwice.count) "
                + "delayed=\(delayed.count) delayed_missing=\(missingDelayed.count) delayed_early=\(early.count) "
                + leftovers.field,
            finalStats: stats)
    }

    /// Enqueues `count` delayed tasks `d-<n>` due at times spread evenly over `seconds` after `start`.
    private static func enqueueDelayed(
        count: Int, over seconds: Double, from start: Date, queue: Queue<EmailTask>, run: ChaosRun
    ) async throws -> [String] {
        let ids = (0..<count).map { String(format: "d-%07d", $0) }
        run.markAttempted(ids)
        let items = ids.enumerated().map { index, id in
            EnqueueItem(
                ChaosRun.task(id),
                options: .init(
                    id: TaskID(id), notBefore: start.addingTimeInterval(seconds * Double(index + 1) / Double(count + 1))
                ))
        }
        for (id, result) in zip(ids, try await queue.enqueueBatch(items)) {
            if case .failure(let error) = result { throw ChaosError("enqueue delayed \(id): \(error)") }
        }
        return ids
    }
}
