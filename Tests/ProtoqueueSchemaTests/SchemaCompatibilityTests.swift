import Foundation
import ProtoqueueCodec
import ProtoqueueSchema
import SchemaTestSupport
import Testing

/// The compatibility rules over a table of schema pairs: each pair is the base schema below and one edit of it,
/// both compiled by protoc.
@Suite("Schema compatibility")
struct SchemaCompatibilityTests {
    static let base = """
        syntax = "proto3";
        package shop.v1;
        message Order {
          string id = 1;
          int32 quantity = 2;
          repeated string tags = 3;
          Status status = 4;
          Address address = 5;
          map<string, int64> totals = 6;
          oneof payment {
            string card = 7;
            string iban = 8;
          }
          string note = 9;
          reserved 20;
          enum Status {
            STATUS_UNSPECIFIED = 0;
            STATUS_OPEN = 1;
            STATUS_PAID = 2;
            reserved 9;
          }
        }
        message Address {
          string street = 1;
          string city = 2;
        }
        """

    struct Edit: CustomStringConvertible, Sendable {
        var name: String
        var replacements: [(String, String)]
        var message = "shop.v1.Order"
        /// The kind and path of the first breaking change expected, or `nil` for a compatible edit.
        var breaking: (SchemaChange.Kind, String)?
        /// For a compatible edit: the kind of change reported, if any.
        var reported: SchemaChange.Kind?
        var description: String { name }
    }

    static let breakingEdits: [Edit] = [
        Edit(
            name: "type change", replacements: [("int32 quantity = 2", "int64 quantity = 2")],
            breaking: (.fieldTypeChanged, "shop.v1.Order.quantity")),
        Edit(
            name: "repeated to singular", replacements: [("repeated string tags = 3", "string tags = 3")],
            breaking: (.fieldCardinalityChanged, "shop.v1.Order.tags")),
        Edit(
            name: "number reused",
            replacements: [("string id = 1", "string id = 10"), ("string note = 9", "string note = 1")],
            breaking: (.fieldNumberReused, "shop.v1.Order.id")),
        Edit(
            name: "field removed without reserved", replacements: [("  string note = 9;\n", "")],
            breaking: (.fieldRemoved, "shop.v1.Order.note")),
        Edit(
            name: "package changed", replacements: [("package shop.v1;", "package shop.v2;")],
            message: "shop.v2.Order", breaking: (.typeRenamed, "shop.v1.Order")),
        Edit(
            name: "message renamed", replacements: [("message Order {", "message Purchase {")],
            message: "shop.v1.Purchase", breaking: (.typeRenamed, "shop.v1.Order")),
        Edit(
            name: "enum value reused",
            replacements: [("STATUS_OPEN = 1", "STATUS_OPEN = 2"), ("STATUS_PAID = 2", "STATUS_PAID = 1")],
            breaking: (.enumValueReused, "shop.v1.Order.Status.STATUS_OPEN")),
        Edit(
            name: "enum value removed", replacements: [("    STATUS_PAID = 2;\n", "")],
            breaking: (.enumValueRemoved, "shop.v1.Order.Status.STATUS_PAID")),
        Edit(
            name: "reserved number used", replacements: [("  reserved 20;\n", "  string coupon = 20;\n")],
            breaking: (.reservedFieldNumberUsed, "shop.v1.Order.coupon")),
        Edit(
            name: "reserved enum number used", replacements: [("    reserved 9;\n", "    STATUS_REFUNDED = 9;\n")],
            breaking: (.reservedEnumNumberUsed, "shop.v1.Order.Status.STATUS_REFUNDED")),
        Edit(
            name: "field moved into a oneof",
            replacements: [
                ("  string note = 9;\n", ""), ("string iban = 8;", "string iban = 8;\n    string note = 9;"),
            ],
            breaking: (.fieldOneofChanged, "shop.v1.Order.note")),
        Edit(
            name: "nested message field type change", replacements: [("string city = 2", "int32 city = 2")],
            breaking: (.fieldTypeChanged, "shop.v1.Address.city")),
        Edit(
            name: "map value type change", replacements: [("map<string, int64>", "map<string, int32>")],
            breaking: (.fieldTypeChanged, "shop.v1.Order.TotalsEntry.value")),
        Edit(
            name: "message field becomes a string", replacements: [("Address address = 5", "string address = 5")],
            breaking: (.fieldTypeChanged, "shop.v1.Order.address")),
    ]

    static let compatibleEdits: [Edit] = [
        Edit(
            name: "field added", replacements: [("string note = 9;", "string note = 9;\n  string coupon = 10;")],
            reported: .fieldAdded),
        Edit(
            name: "enum value added",
            replacements: [("STATUS_PAID = 2;", "STATUS_PAID = 2;\n    STATUS_REFUNDED = 3;")],
            reported: .enumValueAdded),
        Edit(
            name: "field renamed", replacements: [("string id = 1", "string identifier = 1")], reported: .fieldRenamed),
        Edit(
            name: "field removed and reserved", replacements: [("  string note = 9;\n", "  reserved 9;\n")],
            reported: .fieldRemovedAndReserved),
        Edit(
            name: "enum value renamed", replacements: [("STATUS_PAID = 2", "STATUS_SETTLED = 2")],
            reported: .enumValueRenamed),
        Edit(name: "explicit presence", replacements: [("int32 quantity = 2", "optional int32 quantity = 2")]),
        Edit(
            name: "comments and order",
            replacements: [
                (
                    "  string id = 1;\n  int32 quantity = 2;\n",
                    "  // the quantity\n  int32 quantity = 2;\n  string id = 1;\n"
                )
            ]),
    ]

    static func compile(_ edit: Edit?) throws -> SchemaSet {
        var text = base
        for (old, new) in edit?.replacements ?? [] {
            #expect(text.contains(old), "the edit \(old) does not apply")
            text = text.replacingOccurrences(of: old, with: new)
        }
        return try SchemaSet(descriptorSet: Protoc.descriptorSet(["shop.proto": text]))
    }

    @Test("a breaking edit is refused, naming the field and both definitions", arguments: breakingEdits)
    func breaking(_ edit: Edit) throws {
        let changes = try SchemaCompatibility.changes(
            from: Self.compile(nil), message: "shop.v1.Order", to: Self.compile(edit), message: edit.message)
        let expected = try #require(edit.breaking)
        let found = try #require(changes.first { $0.kind == expected.0 }, "\(changes)")
        #expect(found.isBreaking)
        #expect(found.path == expected.1)
        #expect(found.description.hasPrefix("breaking \(expected.1): "))
        if expected.0 != .typeRenamed && expected.0 != .fieldRemoved && expected.0 != .enumValueRemoved {
            #expect(found.old != nil && found.new != nil, "\(found)")
        }
    }

    @Test("a compatible edit passes", arguments: compatibleEdits)
    func compatible(_ edit: Edit) throws {
        let changes = try SchemaCompatibility.changes(
            from: Self.compile(nil), message: "shop.v1.Order", to: Self.compile(edit), message: edit.message)
        let breaking = changes.filter(\.isBreaking)
        #expect(breaking.isEmpty, "\(changes)")
        #expect(changes.map(\.kind) == (edit.reported.map { [$0] } ?? []), "\(changes)")
    }

    @Test("a type change names both declarations")
    func message() throws {
        let changes = try SchemaCompatibility.changes(
            from: Self.compile(nil), message: "shop.v1.Order", to: Self.compile(Self.breakingEdits[0]),
            message: "shop.v1.Order")
        #expect(
            changes.map(\.description) == [
                "breaking shop.v1.Order.quantity: number 2 changed type: 'int32 quantity = 2' -> 'int64 quantity = 2'"
            ])
    }

    @Test("a message the set lacks is a typed error")
    func missing() throws {
        let set = try Self.compile(nil)
        #expect(throws: ProtoqueueError.self) {
            try SchemaCompatibility.changes(from: set, message: "shop.v1.Nope", to: set, message: "shop.v1.Order")
        }
    }
}

/// `protoqueue schema check` (the CI command) on the same pairs: exit 3 and the field named for each breaking edit,
/// exit 0 for each compatible one.
@Suite("protoqueue schema check")
struct SchemaCheckCommandTests {
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("protoqueue").path
    }

    /// Writes both descriptor sets and runs the command on them.
    static func check(_ edit: SchemaCompatibilityTests.Edit, json: Bool = false) throws -> (Int32, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-check-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var text = SchemaCompatibilityTests.base
        for (old, new) in edit.replacements { text = text.replacingOccurrences(of: old, with: new) }
        let old = directory.appendingPathComponent("old.pb")
        let new = directory.appendingPathComponent("new.pb")
        try Data(Protoc.descriptorSet(["shop.proto": SchemaCompatibilityTests.base])).write(to: old)
        try Data(Protoc.descriptorSet(["shop.proto": text])).write(to: new)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments =
            ["schema", "check", old.path, new.path, "--message", "shop.v1.Order", "--new-message", edit.message]
            + (json ? ["--json"] : [])
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // A command that hangs fails the test instead of holding the run.
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { if process.isRunning { process.terminate() } }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("a breaking edit exits 3 naming the field", arguments: SchemaCompatibilityTests.breakingEdits)
    func breaking(_ edit: SchemaCompatibilityTests.Edit) throws {
        let (status, output) = try Self.check(edit)
        let expected = try #require(edit.breaking)
        #expect(status == 3, "\(output)")
        #expect(output.contains("breaking \(expected.1): "), "\(output)")
        #expect(output.hasSuffix(" breaking change(s)\n"), "\(output)")
    }

    @Test("a compatible edit exits 0", arguments: SchemaCompatibilityTests.compatibleEdits)
    func compatible(_ edit: SchemaCompatibilityTests.Edit) throws {
        let (status, output) = try Self.check(edit, json: true)
        #expect(status == 0, "\(output)")
        let report = try JSONValue(parsing: output)
        #expect(report["breaking"] == .bool(false))
        guard case .array(let changes) = report["changes"] else {
            Issue.record("no changes array: \(output)")
            return
        }
        #expect(changes.map { $0["kind"] } == (edit.reported.map { [.string($0.rawValue)] } ?? []))
    }
}
