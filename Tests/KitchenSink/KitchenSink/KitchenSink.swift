// The kitchen-sink wrappers are generated at build time by ProtoqueueSwiftGenerator from the schemas of
// CKitchenSink (Tests/KitchenSink/CKitchenSink/kitchen/**.proto).
@_exported public import ProtoqueueCodec
