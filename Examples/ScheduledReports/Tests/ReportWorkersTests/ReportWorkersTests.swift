import Logging
import Protoqueue
import ProtoqueueTesting
import ReportSchemas
import ReportWorkers
import Testing

/// The handlers of both queues, run by the same worker as in production, on an in-memory server with a virtual
/// clock: no nats-server is involved.
struct ReportWorkersTests {
    let server = InMemoryQueueServer()
    let logger = Logger(label: "report-tests", factory: { _ in SwiftLogNoOpLogHandler() })
    let report = ScheduledReport(
        reportID: "monthly-revenue", range: DateRange(from: "2026-10-01", to: "2026-10-31"), format: .pdf,
        recipients: ["cfo@example.com", "ops@example.com"])

    func queues() async throws -> ReportQueues {
        try await ReportQueues(connection: server.connection, retryDelay: .seconds(30), logger: logger)
    }

    func worker(_ queues: ReportQueues, _ renderer: FakeRenderer, _ mailer: FakeMailer) -> QueueWorker {
        queues.worker(renderer: renderer, mailer: mailer, options: .init(concurrency: 4), logger: logger)
    }

    @Test func aRenderedReportIsMailedToItsRecipients() async throws {
        let queues = try await queues()
        let renderer = FakeRenderer()
        let mailer = FakeMailer()
        _ = try await queues.reports.enqueue(report, options: .init(id: "monthly-revenue-2026-10"))

        try await server.runUntilIdle(worker(queues, renderer, mailer))

        let sent = await mailer.sent
        #expect(sent.map(\.recipients) == [["cfo@example.com", "ops@example.com"]])
        #expect(sent.first?.document == "rendered/monthly-revenue.pdf")
        #expect(sent.first?.format == .pdf)
        #expect(try await server.tasks(of: queues.reports).isEmpty)
        #expect(try await server.tasks(of: queues.deliveries).isEmpty)
        #expect(try await server.deadLetters(of: queues.reports).isEmpty)
    }

    @Test func anUnknownReportIsDeadLetteredWithoutARetry() async throws {
        let queues = try await queues()
        let renderer = FakeRenderer(known: [])
        let mailer = FakeMailer()
        _ = try await queues.reports.enqueue(report, options: .init(id: "monthly-revenue-2026-10"))

        try await server.runUntilIdle(worker(queues, renderer, mailer))

        let letters = try await server.deadLetters(of: queues.reports)
        #expect(letters.count == 1)
        #expect(letters.first?.reason == .failed)
        #expect(letters.first?.attempts == 1)
        #expect(letters.first?.id == "monthly-revenue-2026-10")
        #expect(letters.first?.error == "no report definition named 'monthly-revenue'")
        #expect(letters.first?.details == ["report": "monthly-revenue"])
        #expect(letters.first?.task == report)
        #expect(await renderer.renders.count == 1)
        #expect(await mailer.sent.isEmpty)
    }

    @Test func aRendererOutageIsRetriedAfterTheQueuesDelay() async throws {
        let queues = try await queues()
        let renderer = FakeRenderer(failFirst: 1)
        let mailer = FakeMailer()
        _ = try await queues.reports.enqueue(report)

        try await server.runUntilIdle(worker(queues, renderer, mailer))
        #expect(try await server.tasks(of: queues.reports).count == 1)  // waiting for its retry
        await server.advance(by: .seconds(29))
        try await server.runUntilIdle(worker(queues, renderer, mailer))
        #expect(await renderer.renders.count == 1)  // not due yet
        await server.advance(by: .seconds(1))
        try await server.runUntilIdle(worker(queues, renderer, mailer))

        #expect(await renderer.renders.count == 2)
        #expect(await mailer.sent.count == 1)
        #expect(try await server.tasks(of: queues.reports).isEmpty)
        #expect(try await server.deadLetters(of: queues.reports).isEmpty)
    }

    @Test func aReportWithoutRecipientsIsDroppedWithoutADeadLetter() async throws {
        let queues = try await queues()
        let renderer = FakeRenderer()
        let mailer = FakeMailer()
        var unaddressed = report
        unaddressed.recipients = []
        _ = try await queues.reports.enqueue(unaddressed)

        try await server.runUntilIdle(worker(queues, renderer, mailer))

        #expect(await renderer.renders.isEmpty)
        #expect(await mailer.sent.isEmpty)
        #expect(try await server.tasks(of: queues.reports).isEmpty)
        #expect(try await server.deadLetters(of: queues.reports).isEmpty)
    }

    @Test func aMailOutageRetriesTheDeliveryNotTheRender() async throws {
        let queues = try await queues()
        let renderer = FakeRenderer()
        let mailer = FakeMailer(failFirst: 1)
        _ = try await queues.reports.enqueue(report)

        try await server.runUntilIdle(worker(queues, renderer, mailer))
        #expect(try await server.tasks(of: queues.deliveries).count == 1)
        await server.advance(by: .seconds(30))
        try await server.runUntilIdle(worker(queues, renderer, mailer))

        #expect(await renderer.renders.count == 1)
        #expect(await mailer.sent.count == 1)
        #expect(try await server.tasks(of: queues.deliveries).isEmpty)
    }

    @Test func aMailThatFailsEveryAttemptEndsInTheDeliveriesDeadLetters() async throws {
        let queues = try await queues()
        let mailer = FakeMailer(failFirst: 10)
        _ = try await queues.reports.enqueue(report, options: .init(id: "monthly-revenue-2026-10"))

        let worker = worker(queues, FakeRenderer(), mailer)
        try await server.runUntilIdle(worker)
        for _ in 1..<4 {  // four attempts, thirty seconds apart
            await server.advance(by: .seconds(30))
            try await server.runUntilIdle(worker)
        }

        let letters = try await server.deadLetters(of: queues.deliveries)
        #expect(letters.map(\.reason) == [.retriesExhausted])
        #expect(letters.first?.attempts == 4)
        #expect(letters.first?.id == "monthly-revenue-2026-10/delivery")
        #expect(letters.first?.task?.recipients == report.recipients)
        #expect(await mailer.sent.isEmpty)
    }

    @Test func aRenderRunTwiceBecauseItOutlivedItsAckWaitMailsOnce() async throws {
        let queues = try await queues()
        let renderer = FakeRenderer(holdFirst: true)
        let mailer = FakeMailer()
        _ = try await queues.reports.enqueue(report, options: .init(id: "monthly-revenue-2026-10"))

        let running = Task { try await server.runUntilIdle(worker(queues, renderer, mailer)) }
        while await renderer.renders.isEmpty { try await Task.sleep(for: .milliseconds(2)) }
        // The first render is stuck past the ack wait (30 s): the server delivers the task again.
        await server.advance(by: .seconds(31))
        while await renderer.renders.count < 2 { try await Task.sleep(for: .milliseconds(2)) }
        await renderer.release()
        try await running.value

        // Both renders enqueued the delivery under the same id: stored once, mailed once.
        #expect(await mailer.sent.count == 1)
        #expect(try await server.tasks(of: queues.deliveries).isEmpty)
        #expect(try await queues.deliveries.stats().lastSequence == 1)
    }
}
