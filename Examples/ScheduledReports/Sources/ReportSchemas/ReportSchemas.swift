// ScheduledReport, ReportDelivery, DateRange and ReportFormat are generated at build time by ProtoqueueSwiftGenerator.
@_exported public import ProtoqueueCodec
