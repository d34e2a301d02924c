public import Logging
public import Protoqueue
public import ReportSchemas

/// The example's two queues: reports to render, and rendered reports to mail.
public struct ReportQueues: Sendable {
    /// Reports waiting to be rendered.
    public let reports: Queue<ScheduledReport>
    /// Rendered reports waiting to be mailed.
    public let deliveries: Queue<ReportDelivery>

    /// Opens both queues on `connection`, creating their streams and consumers when missing.
    /// - Parameters:
    ///   - connection: A connection to a nats-server, or an `InMemoryQueueServer`'s.
    ///   - retryDelay: How long a failed render or mail waits before its next attempt.
    ///   - logger: The queues' logger.
    public init(connection: NATSConnection, retryDelay: Duration = .seconds(30), logger: Logger) async throws {
        // Four attempts each, the same delay between them; the dead-letter stream keeps what still fails.
        let configuration = QueueConfiguration(consumer: .init(maxDeliveries: 4), retry: .fixed(retryDelay))
        reports = try await Queue(
            connection: connection, name: "reports", configuration: configuration, logger: logger)
        deliveries = try await Queue(
            connection: connection, name: "report-deliveries", configuration: configuration, logger: logger)
    }

    /// One worker for both queues: renders reports, enqueues their deliveries, mails them.
    /// - Parameters:
    ///   - renderer: What renders a report.
    ///   - mailer: What mails a rendered one.
    ///   - options: The worker's budget over both queues (and whether it stops once idle).
    ///   - logger: The worker's logger.
    public func worker(
        renderer: any ReportRenderer, mailer: any ReportMailer, options: ProcessOptions, logger: Logger
    ) -> QueueWorker {
        let handlers = ReportHandlers(renderer: renderer, mailer: mailer, deliveries: deliveries)
        var worker = QueueWorker(options: options, logger: logger)
        worker.add(reports) { report, context in try await handlers.render(report, context: context) }
        // Mail servers take few connections: at most two mails at once, whatever the budget.
        worker.add(deliveries, maxConcurrency: 2) { delivery, _ in try await handlers.deliver(delivery) }
        return worker
    }
}
