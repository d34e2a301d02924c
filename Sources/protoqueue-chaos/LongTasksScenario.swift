import Foundation
import NATSServerHarness
import Protoqueue
import TaskSchemas

#if canImport(Glibc)
import Glibc
#endif

extension ChaosScenarios {
    /// Tasks that run 3 to 6 times the ack wait (2 s), on workers whose heartbeats keep them: 72 tasks on 3 workers
    /// of 8 (CI), or 1,200 on 4 workers of 16 (full, `--tasks` ≥ 100,000). One worker is stopped (SIGSTOP) for twice
    /// the ack wait plus a second while its handlers run, then resumed; workers are killed with SIGKILL and replaced
    /// (2 in CI, 6 in full). Checks: nothing lost; every extra run of a task is explained by a run on a killed or the
    /// stopped worker (a live worker's long task is never delivered twice); the stopped worker reports its late
    /// settlements, and no other worker reports one.
    static func longTasks(tasks: Int, keep: Bool) async throws -> ChaosRun.Report {
        let full = tasks >= 100_000
        let (count, workers, concurrency, kills) = full ? (1_200, 4, 16, 6) : (72, 3, 8, 2)
        let run = try ChaosRun(scenario: "long-tasks", tasks: count)
        defer { run.cleanUp(keep: keep) }
        try run.startSingleServer()
        let (connection, queue) = try await run.connectAndOpenQueue()
        try await run.enqueueAll(goodIDs(count), queue: queue)
        let ackMs = Int(run.ackWait.components.seconds) * 1000
        func start(_ index: Int) throws {
            try run.startWorker(index: index, concurrency: concurrency, workMs: 3 * ackMs, workMsMax: 6 * ackMs)
        }
        for index in 0..<workers { try start(index) }
        var faulted: Set<pid_t> = []
        // Every slot holds a long task by now.
        try await Task.sleep(for: .seconds(4))
        let stopped = try requireWorker(run.worker(0))
        faulted.insert(stopped.pid)
        stopped.signal(SIGSTOP)
        let stopFor = run.ackWait * 2 + .seconds(1)
        run.fault("SIGSTOP worker 0 (pid \(stopped.pid)) for \(stopFor)")
        try await Task.sleep(for: stopFor)
        stopped.signal(SIGCONT)
        for kill in 0..<kills {
            try await Task.sleep(for: .seconds(full ? 20 : 6))
            let index = 1 + kill % (workers - 1)
            if let victim = run.worker(index) { faulted.insert(victim.pid) }
            run.killWorker(index)
            try start(index)
        }
        let (drain, stats) = await run.drain(queue: queue, timeout: .seconds(full ? 900 : 300))
        await connection.close()
        let logs = workerLogs(in: run.directory)
        let faultedEntries = logs.filter { faulted.contains($0.pid) }.flatMap(\.ledger)
        let extraRuns = run.processed().filter { $0.value > 1 }
        let unexplained = extraRuns.filter { id, runs in
            runs - 1 > faultedEntries.filter { $0 == id }.count
        }
        let lateStopped = logs.filter { $0.pid == stopped.pid }.map(\.late).reduce(0, +)
        let lateElsewhere = logs.filter { $0.pid != stopped.pid && !faulted.contains($0.pid) }.map(\.late)
            .reduce(0, +)
        return run.report(
            drainSeconds: drain, duplicateLimit: nil,
            extraChecks: [
                ("stream empty", stats?.messages == 0),
                ("duplicates only from killed or stopped workers", unexplained.isEmpty),
                ("stopped worker reported late settlements", lateStopped > 0),
                ("no late settlement on a live worker", lateElsewhere == 0),
            ],
            extra: "extra_runs=\(extraRuns.values.reduce(0) { $0 + $1 - 1 }) unexplained=\(unexplained.count) "
                + "late_stopped=\(lateStopped) late_elsewhere=\(lateElsewhere)",
            finalStats: stats)
    }

    /// Each worker process's pid, the task ids its ledger records, and its `late <id>` lines, read from the run's
    /// `worker-<index>-<generation>.log` (first line `worker <pid> ready`) and `ledger-<index>-<generation>.txt`.
    private static func workerLogs(in directory: URL) -> [(pid: pid_t, ledger: [String], late: Int)] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasPrefix("worker-") && $0.hasSuffix(".log") }.compactMap { file in
            let text = (try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)) ?? ""
            let lines = text.split(separator: "\n")
            guard let ready = lines.first(where: { $0.hasPrefix("worker ") && $0.hasSuffix(" ready") }),
                let pid = pid_t(ready.split(separator: " ")[1])
            else { return nil }
            let suffix = file.dropFirst("worker-".count).dropLast(".log".count)
            let ledgerText =
                (try? String(contentsOf: directory.appendingPathComponent("ledger-\(suffix).txt"), encoding: .utf8))
                ?? ""
            let ids = ledgerText.split(separator: "\n").compactMap { LedgerEntry(line: $0)?.id }
            return (pid, ids, lines.filter { $0.hasPrefix("late ") }.count)
        }
    }
}
