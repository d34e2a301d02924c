import CProtoDescriptors
import Foundation
import Testing

@testable import protoc_gen_protoqueue

/// Runs protoc over schemas and hands the generator the descriptors it would get from protoc (comments included).
enum GeneratorSupport {
    /// The repository root.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The descriptors of `files` (paths relative to `root`) and of everything they import.
    static func descriptors(root: URL, files: [String]) throws -> [ProtoFile] {
        let descriptorSet = FileManager.default.temporaryDirectory
            .appendingPathComponent("protoqueue-descriptors-\(UUID().uuidString).pb")
        defer { try? FileManager.default.removeItem(at: descriptorSet) }
        let protoc = Process()
        protoc.executableURL = URL(fileURLWithPath: "/usr/bin/protoc")
        protoc.currentDirectoryURL = root
        protoc.arguments =
            [
                "--include_imports", "--include_source_info", "--descriptor_set_out=\(descriptorSet.path)",
                "--proto_path=\(root.path)",
            ] + files
        try protoc.run()
        protoc.waitUntilExit()
        try #require(protoc.terminationStatus == 0, "protoc failed for \(files)")
        let bytes = try [UInt8](Data(contentsOf: descriptorSet))
        let unpacked = bytes.withUnsafeBufferPointer {
            google__protobuf__file_descriptor_set__unpack(nil, $0.count, $0.baseAddress)
        }
        let set = try #require(unpacked, "not a FileDescriptorSet")
        defer { google__protobuf__file_descriptor_set__free_unpacked(set, nil) }
        return DescriptorReader.buffer(set.pointee.file, set.pointee.n_file).map { DescriptorReader.file($0!) }
    }

    /// Writes `schemas` (file name → text) into a new temporary directory and calls `body` with it.
    static func withSchemas<T>(_ schemas: [String: String], _ body: (URL) throws -> T) throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("protoqueue-schemas-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        for (name, text) in schemas {
            try text.write(to: root.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return try body(root)
    }

    /// Runs the Swift generator in-process over `files` under `root`, as protoc would run it.
    static func generate(root: URL, files: [String], cModule: String) throws -> [(name: String, content: String)] {
        let descriptors = try descriptors(root: root, files: files)
        return try SwiftGenerator(files: descriptors, parameters: PluginParameters("c_module=\(cModule)"))
            .generate(files)
    }
}
