import Foundation

/// Compiles `.proto` text with Debian's `protoc` into a serialized `FileDescriptorSet`, as a producer's build would:
/// the schema pairs of the compatibility tests and the registry tests.
public enum Protoc {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The descriptor set of `files` (and their imports) among `schemas` (file name → text), without source info.
    public static func descriptorSet(_ schemas: [String: String], files: [String]? = nil) throws -> [UInt8] {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("protoqueue-protoc-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        for (name, text) in schemas {
            let url = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let output = root.appendingPathComponent("set.pb")
        let protoc = Process()
        protoc.executableURL = URL(
            fileURLWithPath: ProcessInfo.processInfo.environment["PROTOC_PATH"] ?? "/usr/bin/protoc")
        protoc.currentDirectoryURL = root
        protoc.arguments =
            ["--include_imports", "--descriptor_set_out=\(output.path)", "--proto_path=\(root.path)"]
            + (files ?? schemas.keys.sorted())
        let errors = Pipe()
        protoc.standardError = errors
        try protoc.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        protoc.waitUntilExit()
        guard protoc.terminationStatus == 0 else { throw Failure(description: "protoc failed: \(message)") }
        return try [UInt8](Data(contentsOf: output))
    }
}
