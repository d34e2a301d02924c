@_exported import ProtoqueueCodec
