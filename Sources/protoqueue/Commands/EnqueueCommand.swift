import ArgumentParser
import Foundation
import Protoqueue

/// `protoqueue enqueue <queue> '<json>'`: a task from JSON through the queue's registered schema.
struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Enqueue a task written as JSON, encoded through the queue's latest registered schema.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "The task id (Nats-Msg-Id); a random UUID when omitted.") var id: String?
    @Option(name: .customLong("meta"), help: "Metadata as key=value; repeat for more.") var metadata: [String] = []
    @Option(help: "Run it no earlier than this many seconds from now.") var delay: Double?
    @Option(help: "Its priority tier.") var priority: String?
    @Option(help: "Encode with this registered schema (fingerprint) instead of the latest.") var schema: String?
    @Option(help: "Make the task unique by this key: while the key is taken, the task holding it is reported.")
    var uniqueKey: String?
    @Option(help: "How long the key stays taken: until-finished (default), until-started, or a number of seconds.")
    var uniqueScope: String?
    @Flag(help: "Fail (exit status 1) when the unique key is taken, instead of reporting its task.")
    var failIfDuplicate = false
    @Argument(help: "The queue's name.") var queue: String
    @Argument(help: "The task as JSON; '-' or nothing reads it from stdin.") var task: String?

    func run() async throws {
        var pairs: [String: String] = [:]
        for item in metadata {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ValidationError("--meta \(item): write it as key=value")
            }
            pairs[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        let unique = try uniqueness()
        let text =
            task.flatMap { $0 == "-" ? nil : $0 }
            ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        try await reportingFailures { () async throws(ProtoqueueError) in
            let (schema, receipt) = try await connection.withConnection {
                connection, logger throws(ProtoqueueError) -> (RegisteredSchema, EnqueueReceipt) in
                let handle = try await QueueDirectory.queue(named: queue, connection: connection, logger: logger)
                let registered = try Self.schema(self.schema, of: try await QueuedTasks(queue: handle), queue: queue)
                let codec = ProtoJSON(schemas: try SchemaSet(descriptorSet: registered.descriptorSet))
                let body = try codec.protobuf(fromJSON: text, message: registered.messageName)
                let options = EnqueueOptions(
                    id: id.map { TaskID($0) }, metadata: pairs, notBefore: delay.map { Date().addingTimeInterval($0) },
                    unique: unique, priority: priority)
                return (registered, try await handle.enqueue(body: body, schema: registered, options: options))
            }
            if json {
                say(
                    JSONValue.object([
                        ("id", .string(receipt.id.rawValue)), ("sequence", .number("\(receipt.sequence)")),
                        ("duplicate", .bool(receipt.duplicate)), ("type", .string(schema.messageName)),
                        ("schema", .string(schema.fingerprint.rawValue)),
                    ]).text(pretty: true))
                return
            }
            if let unique, receipt.duplicate {
                say(
                    "not enqueued: unique key \"\(unique.key)\" is taken by task \(receipt.id)"
                        + (receipt.sequence > 0 ? " at #\(receipt.sequence)" : ""))
                return
            }
            say(
                "enqueued \(receipt.id) (\(schema.messageName)) at #\(receipt.sequence)"
                    + (receipt.duplicate ? ", a duplicate of the task stored before" : ""))
        }
    }

    /// The uniqueness rule of `--unique-key`, `--unique-scope` and `--fail-if-duplicate`.
    func uniqueness() throws -> Uniqueness? {
        guard let uniqueKey else {
            guard uniqueScope == nil && !failIfDuplicate else {
                throw ValidationError("--unique-scope and --fail-if-duplicate need --unique-key")
            }
            return nil
        }
        let scope: Uniqueness.Scope
        switch uniqueScope {
        case nil, "until-finished": scope = .untilFinished
        case "until-started": scope = .untilStarted
        case let text?:
            guard let seconds = Double(text), seconds >= 0.001, seconds <= 1e9 else {
                throw ValidationError(
                    "--unique-scope \(text): expected until-finished, until-started or a number of seconds")
            }
            scope = .for(.milliseconds(Int64((seconds * 1000).rounded())))
        }
        return Uniqueness(key: uniqueKey, scope: scope, onDuplicate: failIfDuplicate ? .fail : .returnExisting)
    }

    /// The registered schema called `fingerprint`, or the latest one.
    static func schema(
        _ fingerprint: String?, of reader: QueuedTasks, queue: String
    ) throws(ProtoqueueError) -> RegisteredSchema {
        if let fingerprint {
            guard let found = reader.schemas.first(where: { $0.fingerprint.rawValue == fingerprint }) else {
                throw ProtoqueueError(.streamNotFound, "queue \(queue) has no registered schema \(fingerprint)")
            }
            return found
        }
        guard let latest = reader.latestSchema() else {
            throw ProtoqueueError(.streamNotFound, "queue \(queue) has no registered schema to encode the task with")
        }
        return latest
    }
}
