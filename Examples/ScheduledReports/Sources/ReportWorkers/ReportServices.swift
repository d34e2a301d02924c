import ReportSchemas

/// Renders a report definition into a document; the real one queries a database and writes a file.
public protocol ReportRenderer: Sendable {
    /// Renders `report`.
    /// - Throws: ``UnknownReport`` when no definition has the report's id (a permanent failure); any other error is
    ///   taken as temporary (the task is retried).
    func render(_ report: ScheduledReport) async throws -> RenderedDocument
}

/// Sends a rendered report to its recipients.
public protocol ReportMailer: Sendable {
    /// Mails `delivery`'s document to its recipients; an error means the mail was not sent (the task is retried).
    func send(_ delivery: ReportDelivery) async throws
}

/// Where a renderer stored a report and how large it is.
public struct RenderedDocument: Sendable, Hashable {
    /// The document's location, e.g. `rendered/monthly-revenue.pdf`.
    public var path: String
    /// Its size in bytes.
    public var sizeBytes: UInt64

    /// Creates a document reference.
    public init(path: String, sizeBytes: UInt64) {
        self.path = path
        self.sizeBytes = sizeBytes
    }
}

/// No report definition has this id: retrying cannot help, so the task goes to the dead-letter stream.
public struct UnknownReport: Error, CustomStringConvertible {
    /// The id that matched no definition.
    public var reportID: String

    /// Creates the error for `reportID`.
    public init(reportID: String) { self.reportID = reportID }

    public var description: String { "no report definition named '\(reportID)'" }
}
