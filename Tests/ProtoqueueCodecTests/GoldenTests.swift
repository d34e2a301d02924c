import Foundation
import Testing

@testable import protoc_gen_protoqueue

/// What the Swift generator emits for a set of schemas, compared line by line with the committed expected files
/// under `Tests/Golden/<set>/` (`<file>.protoqueue.swift.golden`). protoc parses the schemas into a descriptor set
/// (with comments); the generator runs in-process, as protoc would run it. `scripts/regenerate-golden.sh` rewrites the
/// expected files after an intended change of the generator's output.
@Suite("Generator golden files")
struct GoldenTests {
    struct SchemaSet: CustomStringConvertible, Sendable {
        var name: String
        var root: String
        var cModule: String
        var files: [String]
        var description: String { name }
    }

    /// The kitchen sink (scalars, proto2, keyword clashes, nested and recursive types, imports across packages)
    /// and the example schemas.
    static let sets = [
        SchemaSet(
            name: "kitchen-sink", root: "Tests/KitchenSink/CKitchenSink", cModule: "CKitchenSink",
            files: [
                "kitchen/shared/types.proto", "kitchen/sink/evolution.proto", "kitchen/sink/legacy.proto",
                "kitchen/sink/names.proto", "kitchen/sink/recursive.proto", "kitchen/sink/scalars.proto",
            ]),
        SchemaSet(
            name: "examples", root: "Protos", cModule: "CTaskSchemas",
            files: [
                "protoqueue/examples/common.proto", "protoqueue/examples/email_task.proto",
                "protoqueue/examples/image_resize_task.proto", "protoqueue/examples/pipeline_record.proto",
            ]),
    ]

    /// The files the generator emits for `set`, by name.
    static func generate(_ set: SchemaSet) throws -> [(name: String, content: String)] {
        try GeneratorSupport.generate(
            root: GeneratorSupport.repository.appendingPathComponent(set.root), files: set.files, cModule: set.cModule)
    }

    @Test(arguments: sets)
    func generatedSwiftMatchesTheGoldenFiles(_ set: SchemaSet) throws {
        let directory = GeneratorSupport.repository.appendingPathComponent("Tests/Golden/\(set.name)")
        let generated = try Self.generate(set)
        if ProcessInfo.processInfo.environment["PROTOQUEUE_REGENERATE_GOLDEN"] == "1" {
            try? FileManager.default.removeItem(at: directory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for file in generated {
                try file.content.write(
                    to: directory.appendingPathComponent(file.name + ".golden"), atomically: true, encoding: .utf8)
            }
            return
        }
        let expectedNames = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".golden") }.sorted()
        #expect(generated.map { $0.name + ".golden" }.sorted() == expectedNames, "\(set.name): generated files")
        for file in generated {
            let expected = try String(
                contentsOf: directory.appendingPathComponent(file.name + ".golden"), encoding: .utf8)
            if let difference = Self.firstDifference(expected: expected, actual: file.content) {
                Issue.record("Tests/Golden/\(set.name)/\(file.name).golden: \(difference)")
            }
        }
    }

    /// The first line where `actual` differs from `expected`, with both versions.
    static func firstDifference(expected: String, actual: String) -> String? {
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let got = actual.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(want.count, got.count) {
            let wanted = index < want.count ? String(want[index]) : "<end of file>"
            let gotten = index < got.count ? String(got[index]) : "<end of file>"
            if wanted != gotten {
                return "line \(index + 1) differs\n  expected: \(wanted)\n  generated: \(gotten)"
            }
        }
        return nil
    }
}
