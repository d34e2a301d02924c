// Placeholder: SwiftPM needs a static include/ directory in a C target. The protoc-c headers and their module
// map are generated at build time by ProtoqueueCGenerator from the schemas under this target's directory.
