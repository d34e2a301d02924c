import ReportSchemas

// Encodes a report request, decodes it again and prints what came back; scripts/build-example.sh checks the output.
let request = ScheduledReport(
    reportID: "monthly-revenue",
    range: DateRange(from: "2026-10-01", to: "2026-10-31"),
    format: .pdf,
    recipients: ["cfo@example.com", "ops@example.com"],
    filters: ["region": "EMEA", "currency": "EUR"],
    maxRows: 500
)
do {
    let bytes = try request.serializedBytes()
    let decoded = try ScheduledReport(serializedBytes: bytes)
    print("\(ScheduledReport.protoMessageName): \(bytes.count) bytes")
    print(
        "report=\(decoded.reportID) range=\(decoded.range?.from ?? "-")..\(decoded.range?.to ?? "-") "
            + "format=\(decoded.format)"
    )
    let filters = decoded.filters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    print(
        "recipients=\(decoded.recipients.joined(separator: ",")) "
            + "filters=\(filters) "
            + "maxRows=\(decoded.maxRows.map(String.init) ?? "none")"
    )
    print(decoded == request ? "round trip: equal" : "round trip: DIFFERENT")
    print(decoded)  // the fields that differ from their defaults
} catch {
    print("error: \(error)")
}
