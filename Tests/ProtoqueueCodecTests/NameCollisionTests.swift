import Foundation
import Testing

@testable import protoc_gen_protoqueue

/// Schemas whose names would collide in the generated Swift or in protoc-c's C: generation fails with a message
/// naming the file, the scope and both declarations. Each C case was checked against protoc-c 1.4.1 output (the C
/// compiler rejects it); each Swift case against swiftc (`invalid redeclaration`). These schemas cannot live in the
/// kitchen sink, which the real build compiles.
@Suite("Generator name collisions")
struct NameCollisionTests {
    struct Case: CustomStringConvertible, Sendable {
        var description: String
        /// File name → schema text; the files are generated in name order.
        var schemas: [String: String]
        var error: String
        /// Whether protoc-c's C clashes too, so `mode=c` must fail with the same message.
        var inC = false
    }

    static let cases = [
        Case(
            description: "underscore prefix",
            schemas: ["foo.proto": proto2("message Foo { optional int32 leading = 1; optional int32 _leading = 2; }")],
            error: "foo.proto: message repro.Foo: fields 'leading' and '_leading' both become Swift name 'leading'"),
        Case(
            description: "reserved name suffix",
            schemas: ["foo.proto": proto2("message Foo { optional int32 init = 1; optional int32 init_ = 2; }")],
            error: "foo.proto: message repro.Foo: fields 'init' and 'init_' both become Swift name 'init_'"),
        Case(
            description: "leading acronym",
            schemas: [
                "foo.proto": proto2("message Foo { optional int32 HTTPHeader = 1; optional int32 http_header = 2; }")
            ],
            error:
                "foo.proto: message repro.Foo: fields 'HTTPHeader' and 'http_header' both become Swift name "
                + "'httpHeader'"),
        Case(
            description: "oneof and field",
            schemas: ["foo.proto": proto2("message Foo { oneof kind { int32 a = 1; } optional int32 kind_ = 2; }")],
            error: "foo.proto: message repro.Foo: oneof 'kind' and field 'kind_' both become Swift name 'kind'"),
        Case(
            description: "default accessor",
            schemas: [
                "foo.proto": proto2(
                    "message Foo { optional int32 x = 1 [default = 3]; optional int32 x_or_default = 2; }")
            ],
            error:
                "foo.proto: message repro.Foo: default accessor of field 'x' and field 'x_or_default' both become "
                + "Swift name 'xOrDefault'"),
        Case(
            description: "oneof cases",
            schemas: ["foo.proto": proto2("message Foo { oneof o { int32 a_b = 1; int32 aB = 2; } }")],
            error: "foo.proto: message repro.Foo, oneof o: fields 'a_b' and 'aB' both become Swift case 'aB'"),
        Case(
            description: "oneof enum and its renamed form",
            schemas: [
                "foo.proto": proto2("message Foo { oneof kind { int32 a = 1; } message Kind {} message KindOneof {} }")
            ],
            error:
                "foo.proto: message repro.Foo: message 'KindOneof' and oneof 'kind' both become Swift type "
                + "'KindOneof'"),
        Case(
            description: "same top-level name in two packages",
            schemas: [
                "a.proto": "syntax = \"proto3\";\npackage a;\nmessage Foo {}\n",
                "b.proto": "syntax = \"proto3\";\npackage b;\nmessage Foo {}\n",
            ],
            error: "b.proto: message 'a.Foo' (a.proto) and message 'b.Foo' both become Swift type 'Foo'"),
        Case(
            description: "nested C type",
            schemas: ["bar.proto": proto2("message Bar { message Type {} message Type_ {} }")],
            error: "bar.proto: message repro.Bar: messages 'Type' and 'Type_' both become C type 'Repro__Bar__Type'",
            inC: true),
        Case(
            description: "message and enum C type",
            schemas: ["bar.proto": proto2("message foo_bar {} enum FooBar { X = 0; }")],
            error: "bar.proto: enum 'FooBar' and message 'foo_bar' both become C type 'Repro__FooBar'", inC: true),
        Case(
            description: "C function prefix",
            schemas: ["bar.proto": proto2("message Ab {} message AB {}")],
            error: "bar.proto: messages 'Ab' and 'AB' both become C function prefix 'repro__ab'", inC: true),
        Case(
            description: "oneof case type",
            schemas: ["bar.proto": proto2("message Bar { oneof o { int32 x = 1; } message OCase {} }")],
            error: "bar.proto: message repro.Bar: oneof 'o' and message 'OCase' both become C type 'Repro__Bar__OCase'",
            inC: true),
        Case(
            description: "C member case",
            schemas: ["bar.proto": proto2("message Bar { optional int32 fooBar = 1; optional int32 foobar = 2; }")],
            error: "bar.proto: message repro.Bar: fields 'fooBar' and 'foobar' both become C member 'foobar'",
            inC: true),
        Case(
            description: "presence flag",
            schemas: ["bar.proto": proto2("message Bar { optional int32 has_x = 1; optional int32 x = 2; }")],
            error:
                "bar.proto: message repro.Bar: field 'has_x' and presence flag of field 'x' both become C member "
                + "'has_x'",
            inC: true),
        Case(
            description: "repeated count",
            schemas: ["bar.proto": proto2("message Bar { repeated int32 r = 1; optional int32 n_r = 2; }")],
            error: "bar.proto: message repro.Bar: count of field 'r' and field 'n_r' both become C member 'n_r'",
            inC: true),
        Case(
            description: "proto3 optional case member",
            schemas: [
                "bar.proto":
                    "syntax = \"proto3\";\npackage repro;\nmessage Bar { optional int32 x = 1; int32 _x_case = 2; }"
            ],
            error:
                "bar.proto: message repro.Bar: field '_x_case' and case member of oneof '_x' both become C member "
                + "'_x_case'",
            inC: true),
        Case(
            description: "protoc-c's base member",
            schemas: ["bar.proto": proto2("message Bar { optional int32 base = 1; }")],
            error: "bar.proto: message repro.Bar: protoc-c member 'base' and field 'base' both become C member 'base'",
            inC: true),
    ]

    static func proto2(_ body: String) -> String {
        "syntax = \"proto2\";\npackage repro;\n\(body)\n"
    }

    @Test(arguments: cases)
    func generationFailsNamingBothDeclarations(_ test: Case) throws {
        let files = test.schemas.keys.sorted()
        let expected = test.error + "; rename one of them"
        try GeneratorSupport.withSchemas(test.schemas) { root in
            do {
                _ = try GeneratorSupport.generate(root: root, files: files, cModule: "CRepro")
                Issue.record("generation succeeded")
            } catch let error as GeneratorError {
                #expect(error.description == expected)
            }
            let descriptors = try GeneratorSupport.descriptors(root: root, files: files)
            #expect(NameCollisions.cClash(in: descriptors)?.description == (test.inC ? expected : nil))
        }
    }

    /// The C plugin (`mode=c`, the code path of ProtoqueueCGenerator) refuses the schema before protoc-c runs.
    @Test func cModeReportsTheClashThroughProtoc() throws {
        let plugin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("protoc-gen-protoqueue")
        try #require(FileManager.default.isExecutableFile(atPath: plugin.path), "no plugin at \(plugin.path)")
        let schema = Self.proto2("message Bar { message Type {} message Type_ {} }")
        try GeneratorSupport.withSchemas(["bar.proto": schema]) { root in
            let protoc = Process()
            protoc.executableURL = URL(fileURLWithPath: "/usr/bin/protoc")
            protoc.currentDirectoryURL = root
            protoc.arguments = [
                "--plugin=protoc-gen-pqc=\(plugin.path)", "--pqc_out=\(root.path)", "--pqc_opt=mode=c",
                "--proto_path=\(root.path)", "bar.proto",
            ]
            let stderr = Pipe()
            protoc.standardError = stderr
            try protoc.run()
            let output = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            protoc.waitUntilExit()
            #expect(protoc.terminationStatus != 0)
            #expect(
                output.contains(
                    "--pqc_out: bar.proto: message repro.Bar: messages 'Type' and 'Type_' both become C type "
                        + "'Repro__Bar__Type'; rename one of them"))
        }
    }
}
