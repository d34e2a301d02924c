import Foundation
import NATSServerHarness
import Protoqueue
import Synchronization
import TaskSchemas

#if canImport(Glibc)
import Glibc
#endif

/// One scenario run: owns its nats-server(s) and worker processes (by pid), keeps the ledger, reports one line.
final class ChaosRun: @unchecked Sendable {
    let scenario: String
    let tasks: Int
    let directory: URL
    let replicas: Int
    let maxDeliveries: Int
    let ackWait: Duration = .seconds(2)
    let queueName: String
    var servers: [NATSServerProcess] = []
    var urls: [String] { servers.map(\.url) }

    private let lock = NSLock()
    private var workers: [(process: OwnedProcess, index: Int)] = []
    private var workerGeneration = 0
    /// Ledger: ids attempted, acknowledged on enqueue; processed counts come from the workers' ledger files.
    private(set) var attempted: Set<String> = []
    let acked = Mutex<Set<String>>([])
    let ambiguous = Atomic<Int>(0)
    let dedupHits = Atomic<Int>(0)
    /// Publishes enqueueBatch itself sent again after an acknowledgement timeout (same id), before reporting.
    let libraryResends = Atomic<Int>(0)
    var faults: [String] = []
    let started = ContinuousClock.now

    init(scenario: String, tasks: Int, replicas: Int = 1, maxDeliveries: Int = 50) throws {
        self.scenario = scenario
        self.tasks = tasks
        self.replicas = replicas
        self.maxDeliveries = maxDeliveries
        queueName = "chaos_" + scenario.replacingOccurrences(of: "-", with: "_")
        directory = try NATSServerProcess.temporaryDirectory(prefix: "protoqueue-chaos-\(scenario)")
    }

    var configuration: QueueConfiguration {
        chaosQueueConfiguration(replicas: replicas, maxDeliveries: maxDeliveries, ackWait: ackWait)
    }

    func fault(_ text: String) {
        lock.withLock { faults.append(text) }
        log("fault: \(text)")
    }

    func log(_ text: String) {
        FileHandle.standardError.write(
            Data("[\(scenario) \(String(format: "%6.1f", seconds(since: started)))s] \(text)\n".utf8))
    }

    // MARK: Servers

    func startSingleServer() throws {
        servers = [try NATSServerProcess(name: "n1", directory: directory)]
    }

    /// Three JetStream nodes on loopback with routes between them (one store directory each).
    func startCluster() throws {
        let routePorts = (0..<3).map { _ in freeLoopbackPort() }
        let routes = routePorts.map { "\"nats-route://127.0.0.1:\($0)\"" }.joined(separator: ", ")
        for index in 0..<3 {
            let body = """
                cluster {
                  name: C1
                  listen: 127.0.0.1:\(routePorts[index])
                  routes: [ \(routes) ]
                }

                """
            servers.append(
                try NATSServerProcess(name: "n\(index + 1)", configuration: body, directory: directory, start: false))
        }
        // Start all three together: each waits for its peers before it reports ready.
        try withThrowingStartAll()
    }

    private func withThrowingStartAll() throws {
        let errors = Mutex<[String]>([])
        let group = DispatchGroup()
        for server in servers {
            group.enter()
            Thread.detachNewThread {
                do { try server.start(timeout: 30) } catch { errors.withLock { $0.append("\(error)") } }
                group.leave()
            }
        }
        group.wait()
        if let first = errors.withLock({ $0.first }) { throw ChaosError(first) }
    }

    func server(named name: String) -> NATSServerProcess? { servers.first { $0.name == name } }

    func stopAll() {
        let current = lock.withLock { workers }
        for worker in current { worker.process.signal(SIGKILL) }
        for worker in current { worker.process.waitForExit(timeout: 5) }
        for server in servers { server.stop() }
    }

    // MARK: Workers

    static let executable: String =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]

    @discardableResult
    func startWorker(
        index: Int, concurrency: Int = 8, workMs: Int = 0, workMsMax: Int? = nil, schedule: String? = nil
    ) throws -> OwnedProcess {
        let generation = lock.withLock { () -> Int in
            workerGeneration += 1
            return workerGeneration
        }
        let log = directory.appendingPathComponent("worker-\(index)-\(generation).log")
        let ledger = directory.appendingPathComponent("ledger-\(index)-\(generation).txt")
        let process = try OwnedProcess(
            executable: Self.executable,
            arguments: [
                "worker", "--servers", urls.joined(separator: ","), "--queue", queueName, "--ledger", ledger.path,
                "--replicas", String(replicas), "--max-deliveries", String(maxDeliveries),
                "--ack-wait-ms", String(ackWait.components.seconds * 1000), "--concurrency", String(concurrency),
                "--work-ms", String(workMs), "--work-ms-max", String(workMsMax ?? workMs),
            ] + (schedule.map { ["--schedule", $0] } ?? []),
            logFile: log
        )
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("ready") { break }
            if !process.isRunning {
                throw ChaosError("worker \(index) exited: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
            usleep(20_000)
        }
        lock.withLock { workers.append((process, index)) }
        return process
    }

    func worker(_ index: Int) -> OwnedProcess? {
        lock.withLock { workers.last { $0.index == index && $0.process.isRunning }?.process }
    }

    /// `kill -9` the newest live worker with `index`.
    func killWorker(_ index: Int) {
        guard let process = worker(index) else { return }
        process.signal(SIGKILL)
        process.waitForExit(timeout: 5)
        fault("kill -9 worker \(index) (pid \(process.pid))")
    }

    /// Processed count per id, from every worker's ledger file.
    func processed() -> [String: Int] {
        var counts: [String: Int] = [:]
        for entry in ledgerEntries() { counts[entry.id, default: 0] += 1 }
        return counts
    }

    /// Every delivery the workers' ledger files record.
    func ledgerEntries() -> [LedgerEntry] {
        var entries: [LedgerEntry] = []
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for file in files where file.hasPrefix("ledger-") {
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path) else {
                continue
            }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                if let entry = LedgerEntry(line: line) { entries.append(entry) }
            }
        }
        return entries
    }

    /// Counts `ids` as sent by the scenario (the report's `unexpected` check).
    func markAttempted(_ ids: some Sequence<String>) { lock.withLock { attempted.formUnion(ids) } }

    func processedUniqueGood() -> Int { processed().keys.filter { $0.hasPrefix("t-") }.count }

    // MARK: Enqueue

    /// The runner's own connection and its queue.
    func connectAndOpenQueue() async throws -> (NATSConnection, Queue<EmailTask>) {
        let connection = try await NATSConnection.connect(
            chaosConnectionConfiguration(urls, name: "chaos-runner"), logger: chaosLogger("chaos"))
        return (connection, try await openQueue(connection))
    }

    /// Opens the queue, retrying (bounded) while a cluster elects its leaders.
    func openQueue(_ connection: NATSConnection) async throws -> Queue<EmailTask> {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                return try await Queue<EmailTask>(
                    connection: connection, name: queueName, configuration: configuration,
                    logger: chaosLogger("protoqueue.chaos"))
            } catch {
                if ContinuousClock.now > deadline { throw error }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    static func task(_ id: String) -> EmailTask {
        var task = EmailTask()
        task.to = "\(id)@chaos.test"
        task.subject = "chaos"
        return task
    }

    /// Enqueues every id with the streaming enqueueBatch, which reports each result as it arrives (so a fault
    /// injected "at N acknowledged" lands in the middle of a batch). An item whose result is a failure (a publish
    /// the server may or may not have stored: ambiguous) is sent again with the same id, in rounds, until every id
    /// is acknowledged (bounded).
    func enqueueAll(_ ids: [String], queue: Queue<EmailTask>) async throws {
        lock.withLock { attempted.formUnion(ids) }
        let firstAttempt = Mutex(Set(ids))
        var pending = ids
        var round = 0
        while !pending.isEmpty {
            round += 1
            guard round <= 200 else {
                throw ChaosError("\(pending.count) tasks still not acknowledged after 200 rounds")
            }
            let batch = pending
            let failed = Mutex<[String]>([])
            let unexpected = Mutex<ProtoqueueError?>(nil)
            let reported = Mutex<Set<Int>>([])
            let (items, continuation) = AsyncStream<EnqueueItem<EmailTask>>.makeStream()
            for id in batch { continuation.yield(EnqueueItem(Self.task(id), options: .init(id: TaskID(id)))) }
            continuation.finish()
            do {
                let summary = try await queue.enqueueBatch(from: items, options: .init(window: 1024)) {
                    [self] results in
                    for await outcome in results {
                        let id = batch[outcome.position]
                        _ = reported.withLock { $0.insert(outcome.position) }
                        switch outcome.result {
                        case .success(let receipt):
                            if receipt.duplicate { dedupHits.add(1, ordering: .relaxed) }
                            _ = acked.withLock { $0.insert(id) }
                        case .failure(let error):
                            if firstAttempt.withLock({ $0.remove(id) }) != nil {
                                ambiguous.add(1, ordering: .relaxed)
                            }
                            let retryable: Set<ProtoqueueError.Code> = [
                                .timeout, .connectionFailed, .connectionClosed, .backpressure, .noStreamForSubject,
                                .jetStreamNotEnabled, .natsError, .publishRejected,
                            ]
                            if !retryable.contains(error.code) { unexpected.withLock { $0 = $0 ?? error } }
                            failed.withLock { $0.append(id) }
                        }
                    }
                }
                libraryResends.add(summary.resent, ordering: .relaxed)
            } catch {
                log("enqueueBatch failed as a whole: \(error); again")
            }
            if let error = unexpected.withLock({ $0 }) { throw ChaosError("enqueue: unexpected \(error)") }
            let seen = reported.withLock { $0 }
            pending = failed.withLock { $0 } + batch.indices.filter { !seen.contains($0) }.map { batch[$0] }
            if !pending.isEmpty { try await Task.sleep(for: .milliseconds(300)) }
        }
    }

    // MARK: Drain and report

    /// Waits until every acknowledged good task was processed and the work stream is empty (and, when given, the
    /// dead-letter stream holds `deadLetters`), or the deadline passes.
    func drain(queue: Queue<EmailTask>, deadLetters: UInt64? = nil, timeout: Duration) async -> (Double, QueueStats?) {
        let start = ContinuousClock.now
        let good = acked.withLock { $0.filter { $0.hasPrefix("t-") } }
        var lastStats: QueueStats?
        var settledSince: ContinuousClock.Instant?
        while ContinuousClock.now - start < timeout {
            let done = Set(processed().keys)
            if good.isSubset(of: done), let stats = try? await queue.stats() {
                if stats.messages == 0 && stats.ackPending == 0
                    && (deadLetters == nil || stats.deadLetters == deadLetters)
                {
                    return (seconds(since: start), stats)
                }
                // Nothing left to deliver or acknowledge, yet messages remain (stranded: see
                // streamEmptyAfterRecovery): done once that has held, unchanged, for 10 s, time for the workers'
                // looks every 2 s to find them twice and recover them.
                let settled =
                    stats.pending == 0 && stats.ackPending == 0
                    && (deadLetters == nil || stats.deadLetters == deadLetters)
                if settled, let previous = lastStats, previous.messages == stats.messages {
                    if let since = settledSince, ContinuousClock.now - since > .seconds(10) {
                        // The drain ended when the state settled, not when the 10 s of watching it ended.
                        return (seconds(since: start) - seconds(since: since), stats)
                    }
                    settledSince = settledSince ?? ContinuousClock.now
                } else {
                    settledSince = nil
                }
                lastStats = stats
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        if lastStats == nil { lastStats = try? await queue.stats() }
        return (seconds(since: start), lastStats)
    }

    /// The checks for a work stream after a server was killed: empty. A kill -9 can leave messages its consumer
    /// will not deliver (a removal after an acknowledgement lost, or the consumer past the stream's last sequence);
    /// the workers recover them (`ProcessOptions.strandedTaskCheck`, every 2 s here) before the drain ends. Messages
    /// still there are read for the `leftover_msgs=` and `leftover_unprocessed=` fields.
    func streamEmptyAfterRecovery(
        queue: Queue<EmailTask>, stats: QueueStats?
    ) async -> (checks: [(String, Bool)], field: String) {
        var leftover = (count: 0, unprocessed: 0)
        if let stats, stats.messages > 0, stats.pending == 0, stats.ackPending == 0 {
            leftover = await leftovers(queue: queue, stats: stats)
        }
        return (
            [("stream empty (stranded tasks recovered)", stats?.messages == 0)],
            "leftover_msgs=\(leftover.count) leftover_unprocessed=\(leftover.unprocessed)"
        )
    }

    /// Messages still in the work stream although the consumer has nothing pending or unacknowledged: reads each
    /// (bounded) and returns how many there are and how many of them name a task a worker never processed.
    func leftovers(queue: Queue<EmailTask>, stats: QueueStats) async -> (count: Int, unprocessed: Int) {
        guard stats.messages > 0, stats.lastSequence >= stats.firstSequence else { return (0, 0) }
        let done = processed()
        var count = 0
        var unprocessed = 0
        var sequence = stats.firstSequence
        while sequence <= stats.lastSequence && sequence - stats.firstSequence < 1_000_000 {
            if let stored = try? await queue.peek(sequence: sequence) {
                count += 1
                if done[stored.id?.rawValue ?? ""] == nil { unprocessed += 1 }
            }
            sequence += 1
        }
        return (count, unprocessed)
    }

    struct Report {
        var line: String
        var passed: Bool
    }

    func report(
        drainSeconds: Double, duplicateLimit: Int?, extraChecks: [(String, Bool)] = [], extra: String = "",
        finalStats: QueueStats? = nil
    ) -> Report {
        let counts = processed()
        let ackedSet = acked.withLock { $0 }
        let goodAcked = ackedSet.filter { $0.hasPrefix("t-") }
        let attemptedSet = lock.withLock { attempted }
        let lost = goodAcked.filter { counts[$0] == nil }.count
        let unexpected = counts.keys.filter { !attemptedSet.contains($0) }.count
        let duplicates = counts.filter { $0.key.hasPrefix("t-") }.reduce(0) { $0 + max(0, $1.value - 1) }
        let maxDeliveries = counts.filter { $0.key.hasPrefix("t-") }.values.max() ?? 0
        let unacked = attemptedSet.filter { $0.hasPrefix("t-") }.count - goodAcked.count
        var checks: [(String, Bool)] = [
            ("lost=0", lost == 0), ("unexpected=0", unexpected == 0), ("all acknowledged", unacked == 0),
        ]
        if let duplicateLimit { checks.append(("duplicates<=\(duplicateLimit)", duplicates <= duplicateLimit)) }
        checks += extraChecks
        let failed = checks.filter { !$0.1 }.map(\.0)
        let faultList = lock.withLock { faults }
        let head =
            "CHAOS scenario=\(scenario) tasks=\(tasks) faults=\(faultList.count) acked=\(goodAcked.count) "
            + "processed=\(counts.keys.filter { $0.hasPrefix("t-") }.count)"
            + " lost=\(lost) unexpected=\(unexpected) duplicates=\(duplicates) max_deliveries=\(maxDeliveries) "
            + "ambiguous=\(ambiguous.load(ordering: .relaxed)) "
            + "batch_resends=\(libraryResends.load(ordering: .relaxed))"
            + " dedup_hits=\(dedupHits.load(ordering: .relaxed)) drain_s=\(String(format: "%.1f", drainSeconds)) "
            + "total_s=\(String(format: "%.1f", seconds(since: started)))"
        let verdict = failed.isEmpty ? "PASS" : "FAIL(" + failed.joined(separator: ",") + ")"
        var extra = extra
        if let stats = finalStats {
            extra +=
                (extra.isEmpty ? "" : " ")
                + "stream_msgs=\(stats.messages) pending=\(stats.pending) ack_pending=\(stats.ackPending) "
                + "redelivered=\(stats.redelivered) waiting_pulls=\(stats.waitingPulls)"
        }
        let tail = (extra.isEmpty ? "" : " " + extra) + " result=" + verdict
        return Report(line: head + tail, passed: failed.isEmpty)
    }

    func cleanUp(keep: Bool) {
        stopAll()
        if !keep { try? FileManager.default.removeItem(at: directory) } else { log("kept \(directory.path)") }
    }
}
