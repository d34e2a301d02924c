import Protoqueue
import ReportSchemas

/// The handlers of both queues; their dependencies are protocols so that tests can replace them.
struct ReportHandlers: Sendable {
    let renderer: any ReportRenderer
    let mailer: any ReportMailer
    let deliveries: Queue<ReportDelivery>

    /// Renders a report and enqueues its delivery. A report without recipients is dropped; an unknown report goes
    /// to the dead-letter stream at once; any other error is retried.
    func render(_ report: ScheduledReport, context: TaskContext) async throws -> TaskResult {
        guard !report.recipients.isEmpty else {
            return .discard(reason: "report '\(report.reportID)' has no recipients")
        }
        let document: RenderedDocument
        do {
            document = try await renderer.render(report)
        } catch let error as UnknownReport {
            return .failure(error, details: ["report": report.reportID])
        }
        let delivery = ReportDelivery(
            reportID: report.reportID, format: report.format, recipients: report.recipients,
            document: document.path, sizeBytes: document.sizeBytes)
        // The delivery's id comes from the report task's: a render that runs again after a crash between this
        // enqueue and its acknowledgement enqueues the same delivery, which the duplicate window stores once.
        _ = try await deliveries.enqueue(delivery, options: .init(id: "\(context.id)/delivery"))
        return .success
    }

    /// Mails a rendered report; an error is retried.
    func deliver(_ delivery: ReportDelivery) async throws -> TaskResult {
        try await mailer.send(delivery)
        return .success
    }
}
