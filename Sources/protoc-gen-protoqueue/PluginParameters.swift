/// The comma-separated `key=value` parameter protoc passes from `--protoqueue_opt` / `--protoqueue_out=<params>:`.
struct PluginParameters {
    enum Mode: Equatable {
        case swift
        case c
        case invalid(String)
    }

    var mode: Mode = .swift
    var cModule: String?
    var protocGenC: String?

    init(_ text: String) {
        for item in text.split(separator: ",") where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0]
            let value = parts.count > 1 ? parts[1] : ""
            switch key {
            case "mode":
                switch value {
                case "c": mode = .c
                case "swift": mode = .swift
                default: mode = .invalid("unknown mode '\(value)' (expected mode=swift or mode=c)")
                }
            case "c_module": cModule = value
            case "protoc_gen_c": protocGenC = value
            default:
                mode = .invalid("unknown parameter '\(key)' (known: c_module, mode, protoc_gen_c)")
                return
            }
        }
    }
}

/// A generation failure reported back to protoc (which prints it and fails the build).
struct GeneratorError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
