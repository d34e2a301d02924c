import Foundation
import Protoqueue
import TaskSchemas

/// `protoqueue-chaos worker --servers URL[,URL…] --queue NAME --ledger FILE [--replicas R] [--max-deliveries N]
/// [--ack-wait-ms MS] [--concurrency C] [--work-ms MS] [--work-ms-max MS] [--schedule NAME]`: processes the queue
/// until killed, appending a line per delivery to the ledger before returning (``LedgerEntry``). Each handler works
/// for a random time from `--work-ms` to `--work-ms-max`. Ids starting with `f-` always fail (the handler throws). With
/// `--schedule`, it first declares the 1-second schedule `NAME`, as every instance of an application would. Each late
/// settlement (``TaskSettlement/late``) is written to stdout as `late <id>`.
enum Worker {
    static func run(_ options: [String: String]) async throws {
        guard let servers = options["servers"]?.split(separator: ",").map(String.init), let name = options["queue"],
            let ledgerPath = options["ledger"]
        else {
            throw ChaosError("worker needs --servers, --queue and --ledger")
        }
        let replicas = Int(options["replicas"] ?? "1") ?? 1
        let maxDeliveries = Int(options["max-deliveries"] ?? "50") ?? 50
        let ackWait = Duration.milliseconds(Int(options["ack-wait-ms"] ?? "2000") ?? 2000)
        let concurrency = Int(options["concurrency"] ?? "8") ?? 8
        let workMs = Int(options["work-ms"] ?? "0") ?? 0
        let workMsMax = max(workMs, Int(options["work-ms-max"] ?? "0") ?? 0)
        let ledger = try LedgerFile(path: ledgerPath)
        let logger = chaosLogger("protoqueue.chaos.worker")
        let connection = try await NATSConnection.connect(
            chaosConnectionConfiguration(servers, name: "chaos-worker-\(getpid())"), logger: logger)
        // The queue may be unavailable for a moment (a cluster electing leaders): retry, bounded.
        var queue: Queue<EmailTask>?
        let deadline = ContinuousClock.now + .seconds(60)
        while queue == nil {
            do {
                queue = try await Queue<EmailTask>(
                    connection: connection, name: name,
                    configuration: chaosQueueConfiguration(
                        replicas: replicas, maxDeliveries: maxDeliveries, ackWait: ackWait),
                    middleware: [LateSettlementLog()], logger: logger)
            } catch {
                if ContinuousClock.now > deadline { throw error }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        if let schedule = options["schedule"] {
            try await queue!.declareSchedule(
                TaskSchedule(name: schedule, timing: .every(.seconds(1))), task: ChaosRun.task(schedule))
        }
        FileHandle.standardOutput.write(Data("worker \(getpid()) ready\n".utf8))
        // Scenarios end within a minute of their last server restart: look for stranded tasks every 2 s, not 30 s.
        let processOptions = ProcessOptions(concurrency: concurrency, strandedTaskCheck: .seconds(2))
        try await queue!.process(options: processOptions) { _, context in
            let due =
                context.headers[WireFormat.tickHeader].flatMap { Int64($0) }
                ?? context.notBefore.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? 0
            ledger.append(
                LedgerEntry(
                    id: context.id.rawValue, sequence: context.sequence,
                    startedAt: Int64(Date().timeIntervalSince1970 * 1000), due: due))
            if context.id.rawValue.hasPrefix("f-") { throw ChaosError("task \(context.id) always fails") }
            let work = Int.random(in: workMs...workMsMax)
            if work > 0 { try await Task.sleep(for: .milliseconds(work)) }
            return .success
        }
    }
}

/// Writes `late <id>` to stdout for each settlement that went out after its ack window.
struct LateSettlementLog: QueueMiddleware {
    func settled(_ settlement: TaskSettlement) async {
        if settlement.late { FileHandle.standardOutput.write(Data("late \(settlement.id?.rawValue ?? "?")\n".utf8)) }
    }
}
