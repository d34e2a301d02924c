// Placeholder: SwiftPM needs a static include/ directory in a C target. The protoc-c header of
// Protos/protoqueue/events/v1/task_event.proto and the module map listing it are generated at build time by the
// ProtoqueueCGenerator plugin (protoqueue.json in this directory names the schema).
