import ArgumentParser
import Foundation
import Protoqueue

/// `protoqueue schema ...`: the compatibility check for CI, and the schemas registered for a queue.
struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "Check schema changes, list and drain a queue's registered schemas.",
        subcommands: [SchemaCheckCommand.self, SchemaListCommand.self, SchemaDrainCommand.self])
}

/// `protoqueue schema check <old> <new> --message <type>`: exit 3 on a breaking change.
struct SchemaCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract:
            "Compare two descriptor sets (protoc --include_imports -o) of a task type; exit 3 on a breaking change.")

    @Flag(help: "Print JSON.") var json = false
    @Option(help: "The task type's full name, package included.") var message: String
    @Option(name: .customLong("new-message"), help: "Its name in the new set, when it was renamed.")
    var newMessage: String?
    @Argument(help: "The descriptor set tasks were written with.") var old: String
    @Argument(help: "The descriptor set of the new build.") var new: String

    func run() async throws {
        var breaking = false
        try await reportingFailures { () async throws(ProtoqueueError) in
            let changes = try SchemaCompatibility.changes(
                from: try Self.read(old), message: message, to: try Self.read(new), message: newMessage ?? message)
            breaking = changes.contains(where: \.isBreaking)
            if json {
                say(
                    JSONValue.object([
                        ("breaking", .bool(breaking)), ("changes", .array(changes.map(Self.json))),
                    ]).text(pretty: true))
                return
            }
            for change in changes { say(change.description) }
            let count = changes.filter(\.isBreaking).count
            say(count == 0 ? "compatible: \(changes.count) change(s), none breaking" : "\(count) breaking change(s)")
        }
        if breaking { throw ExitCode(ExitStatus.breakingChange) }
    }

    static func read(_ path: String) throws(ProtoqueueError) -> SchemaSet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProtoqueueError(.streamNotFound, "cannot read descriptor set \(path)")
        }
        do {
            return try SchemaSet(descriptorSet: [UInt8](data))
        } catch {
            throw ProtoqueueError(error.code, "\(path): \(error.message)")
        }
    }

    static func json(_ change: SchemaChange) -> JSONValue {
        .object([
            ("kind", .string(change.kind.rawValue)), ("breaking", .bool(change.isBreaking)),
            ("path", .string(change.path)), ("old", change.old.map(JSONValue.string) ?? .null),
            ("new", change.new.map(JSONValue.string) ?? .null), ("detail", .string(change.detail)),
        ])
    }
}

/// `protoqueue schema list <queue>`.
struct SchemaListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the schemas registered for a queue.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The queue's name.") var queue: String

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            let schemas = try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                try await QueueDirectory.queue(named: queue, connection: connection, logger: logger).registeredSchemas()
            }
            .sorted { ($0.registeredAt ?? .distantPast) < ($1.registeredAt ?? .distantPast) }
            if json {
                say(JSONValue.array(schemas.map { SchemaDrainCommand.json($0, queued: nil) }).text(pretty: true))
                return
            }
            var table = Table(header: ["FINGERPRINT", "TYPE", "REGISTERED"])
            for schema in schemas {
                table.rows.append([
                    schema.fingerprint.rawValue, schema.messageName,
                    schema.registeredAt.map(StatsCommand.timestamp) ?? "-",
                ])
            }
            say(schemas.isEmpty ? "no schemas registered" : table.text)
        }
    }
}

/// `protoqueue schema drain <queue>`: how many queued tasks each registered schema still has.
struct SchemaDrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Count the queued tasks of each registered schema: older schemas can go once they have none.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The queue's name.") var queue: String

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            let (schemas, counts) = try await connection.withConnection {
                connection, logger throws(ProtoqueueError) in
                let handle = try await QueueDirectory.queue(named: queue, connection: connection, logger: logger)
                let reader = try await QueuedTasks(queue: handle)
                var counts: [String: Int] = [:]
                for task in try await reader.read(from: nil, limit: nil) {
                    counts[task.fingerprint ?? "", default: 0] += 1
                }
                return (
                    reader.schemas.sorted { ($0.registeredAt ?? .distantPast) < ($1.registeredAt ?? .distantPast) },
                    counts
                )
            }
            let older = schemas.dropLast().map { counts[$0.fingerprint.rawValue] ?? 0 }.reduce(0, +)
            if json {
                say(
                    JSONValue.object([
                        (
                            "schemas",
                            .array(schemas.map { Self.json($0, queued: counts[$0.fingerprint.rawValue] ?? 0) })
                        ),
                        ("withoutSchema", .number("\(counts[""] ?? 0)")), ("olderQueued", .number("\(older)")),
                    ]).text(pretty: true))
                return
            }
            var table = Table(header: ["FINGERPRINT", "TYPE", "REGISTERED", "QUEUED"], numeric: [3])
            for (index, schema) in schemas.enumerated() {
                table.rows.append([
                    schema.fingerprint.rawValue + (index == schemas.count - 1 ? " (latest)" : ""), schema.messageName,
                    schema.registeredAt.map(StatsCommand.timestamp) ?? "-",
                    "\(counts[schema.fingerprint.rawValue] ?? 0)",
                ])
            }
            if !schemas.isEmpty { say(table.text) }
            if let none = counts[""] { say("\(none) task(s) carry no schema fingerprint") }
            say(
                older == 0
                    ? "drained: no queued task uses an older schema" : "\(older) queued task(s) use an older schema")
        }
    }

    static func json(_ schema: RegisteredSchema, queued: Int?) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("fingerprint", .string(schema.fingerprint.rawValue)), ("type", .string(schema.messageName)),
            ("registeredAt", schema.registeredAt.map { .string(StatsCommand.timestamp($0)) } ?? .null),
        ]
        if let queued { members.append(("queued", .number("\(queued)"))) }
        return .object(members)
    }
}
