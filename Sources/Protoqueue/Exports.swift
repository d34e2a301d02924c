@_exported import ProtoqueueCodec
@_exported import ProtoqueueSchema
