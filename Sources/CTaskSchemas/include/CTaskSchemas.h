// Placeholder: SwiftPM needs a static include/ directory in a C target. The protoc-c headers and the module map
// listing them are generated at build time by the ProtoqueueCGenerator plugin from Protos/.
