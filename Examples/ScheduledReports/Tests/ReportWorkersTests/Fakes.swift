import ReportSchemas
import ReportWorkers

/// A renderer that knows the reports it is given, fails as many first renders as asked, and can hold its first
/// render until a test releases it.
actor FakeRenderer: ReportRenderer {
    struct Outage: Error {}
    private let known: Set<String>
    private var failuresLeft: Int
    private var held: Bool
    private(set) var renders: [String] = []

    init(known: Set<String> = ["monthly-revenue"], failFirst failures: Int = 0, holdFirst: Bool = false) {
        self.known = known
        failuresLeft = failures
        held = holdFirst
    }

    func render(_ report: ScheduledReport) async throws -> RenderedDocument {
        renders.append(report.reportID)
        guard known.contains(report.reportID) else { throw UnknownReport(reportID: report.reportID) }
        if failuresLeft > 0 {
            failuresLeft -= 1
            throw Outage()
        }
        if renders.count == 1 {
            while held { try await Task.sleep(for: .milliseconds(2)) }
        }
        return RenderedDocument(path: "rendered/\(report.reportID).pdf", sizeBytes: 4_096)
    }

    func release() { held = false }
}

/// A mailer that records what it sent and fails as many first sends as asked.
actor FakeMailer: ReportMailer {
    struct Outage: Error {}
    private var failuresLeft: Int
    private(set) var sent: [ReportDelivery] = []

    init(failFirst failures: Int = 0) { failuresLeft = failures }

    func send(_ delivery: ReportDelivery) async throws {
        if failuresLeft > 0 {
            failuresLeft -= 1
            throw Outage()
        }
        sent.append(delivery)
    }
}
