// The Swift wrappers of the example schemas in Protos/protoqueue/examples are generated at build time by the
// ProtoqueueSwiftGenerator plugin (EmailTask, ImageResizeTask, PipelineRecord, Requester, Priority).
@_exported public import ProtoqueueCodec
