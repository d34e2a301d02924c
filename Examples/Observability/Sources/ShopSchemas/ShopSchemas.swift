// ResizeImage and SendReceipt are generated at build time by ProtoqueueSwiftGenerator.
@_exported public import ProtoqueueCodec
