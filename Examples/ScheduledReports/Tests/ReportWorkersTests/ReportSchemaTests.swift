import ReportSchemas
import Testing

/// The generated types of the example's schemas.
struct ReportSchemaTests {
    @Test func aReportSurvivesTheWireFormat() throws {
        let report = ScheduledReport(
            reportID: "monthly-revenue", range: DateRange(from: "2026-10-01", to: "2026-10-31"), format: .pdf,
            recipients: ["cfo@example.com", "ops@example.com"], filters: ["region": "EMEA", "currency": "EUR"],
            maxRows: 500)
        let decoded = try ScheduledReport(serializedBytes: try report.serializedBytes())
        #expect(decoded == report)
        #expect(decoded.maxRows == 500)
        #expect(ScheduledReport.protoMessageName == "acme.reports.ScheduledReport")
    }

    @Test func anUnsetOptionalStaysUnset() throws {
        let delivery = ReportDelivery(reportID: "weekly-signups", format: .csv, recipients: ["growth@example.com"])
        let decoded = try ReportDelivery(serializedBytes: try delivery.serializedBytes())
        #expect(decoded == delivery)
        #expect(try ScheduledReport(serializedBytes: try ScheduledReport().serializedBytes()).maxRows == nil)
    }
}
