// The kitchen-sink wrappers are generated at build time by ProtoqueueSwiftGenerator from the schemas of
// CKitchenSink (Tests/KitchenSink/CKitchenSink/kitchen/**.proto), named as cModule in protoqueue.json here
// (which exercises that lookup; a single C dependency would be found without it).
@_exported public import ProtoqueueCodec
