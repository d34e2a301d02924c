import Foundation
import Logging
import Protoqueue
import ReportSchemas
import ReportWorkers

// scheduled-reports: enqueues four report requests on the nats-server at NATS_URL (default nats://127.0.0.1:4222),
// then serves both of the example's queues with one worker until they are idle:
// - monthly-revenue renders and is mailed;
// - weekly-signups fails its first render (its database is "down") and succeeds on the retry a second later;
// - quarterly-forecast has no definition: dead-lettered at once, never retried;
// - board-pack has no recipients: dropped without a dead-letter record.
// scripts/build-example.sh runs it against a private nats-server and checks the summary lines.

/// A stand-in for a real renderer: knows two reports, and the first render of weekly-signups fails.
actor DemoRenderer: ReportRenderer {
    struct DatabaseUnavailable: Error {}
    private(set) var renders: [String: Int] = [:]

    func render(_ report: ScheduledReport) async throws -> RenderedDocument {
        renders[report.reportID, default: 0] += 1
        let rows: UInt64
        switch report.reportID {
        case "monthly-revenue": rows = 1_200
        case "weekly-signups":
            guard renders[report.reportID] ?? 0 > 1 else { throw DatabaseUnavailable() }
            rows = 340
        default: throw UnknownReport(reportID: report.reportID)
        }
        let suffix = report.format == .csv ? "csv" : "pdf"
        return RenderedDocument(path: "rendered/\(report.reportID).\(suffix)", sizeBytes: rows * 64)
    }
}

/// A stand-in for a mail client: remembers what it sent.
actor DemoMailer: ReportMailer {
    private(set) var sent: [ReportDelivery] = []

    func send(_ delivery: ReportDelivery) async throws {
        sent.append(delivery)
        let recipients = delivery.recipients.joined(separator: ",")
        print("mailing \(delivery.document) (\(delivery.sizeBytes) bytes) to \(recipients)")
    }
}

var logger = Logger(label: "scheduled-reports", factory: { StreamLogHandler.standardError(label: $0) })
logger.logLevel = .warning
let environment = ProcessInfo.processInfo.environment
let url = environment["NATS_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "nats://127.0.0.1:4222"
// Task ids carry a run id, so that runs against the same server neither collide in the duplicate window nor mix
// their dead letters in the summary.
let run = String(UUID().uuidString.prefix(8)).lowercased()

let requests = [
    ScheduledReport(
        reportID: "monthly-revenue", range: DateRange(from: "2026-10-01", to: "2026-10-31"), format: .pdf,
        recipients: ["cfo@example.com", "ops@example.com"], filters: ["region": "EMEA"], maxRows: 5_000),
    ScheduledReport(
        reportID: "weekly-signups", range: DateRange(from: "2026-11-23", to: "2026-11-29"), format: .csv,
        recipients: ["growth@example.com"]),
    ScheduledReport(reportID: "quarterly-forecast", format: .pdf, recipients: ["board@example.com"]),
    ScheduledReport(reportID: "board-pack", format: .pdf),
]

do {
    try await withNATSConnection(.init(servers: [url], name: "scheduled-reports"), logger: logger) { connection in
        let queues = try await ReportQueues(connection: connection, retryDelay: .seconds(1), logger: logger)
        let receipts = try await queues.reports.enqueueBatch(
            requests.map { EnqueueItem($0, options: .init(id: "\(run)-\($0.reportID)")) })
        print("enqueued \(try receipts.map { try $0.get() }.count) reports (run \(run))")

        let renderer = DemoRenderer()
        let mailer = DemoMailer()
        let worker = queues.worker(
            renderer: renderer, mailer: mailer, options: .init(concurrency: 4, stopWhenIdle: true), logger: logger)
        let started = ContinuousClock.now
        try await worker.run()
        let elapsed = (ContinuousClock.now - started) / .milliseconds(1)
        print("worker idle after \(Int(elapsed)) ms")

        let renders = await renderer.renders.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        print("renders: \(renders.joined(separator: " "))")
        let mailed = await mailer.sent.map { "\($0.reportID) -> \($0.recipients.joined(separator: ","))" }.sorted()
        print("mailed: \(mailed.joined(separator: "; "))")
        for try await letter in queues.reports.deadLetters() where letter.id?.rawValue.hasPrefix(run) == true {
            print(
                "dead letter: \(letter.task?.reportID ?? "?") reason=\(letter.reason) attempts=\(letter.attempts) "
                    + "error=\(letter.error)")
        }
        let left = (try await queues.reports.stats().messages, try await queues.deliveries.stats().messages)
        print("left: reports=\(left.0) report-deliveries=\(left.1)")
    }
} catch {
    print("error: \(error)")
    exit(1)
}
