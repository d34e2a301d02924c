import ArgumentParser
import Foundation
import Protoqueue

/// `protoqueue dead-letters ...`: read, replay and purge a queue's failed tasks.
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters", abstract: "List, show, replay or purge a queue's dead-letter records.",
        subcommands: [
            DeadLettersListCommand.self, DeadLettersShowCommand.self, DeadLettersReplayCommand.self,
            DeadLettersPurgeCommand.self,
        ])

    /// A record as JSON: where it came from, why it failed, and the task through the registry.
    static func json(_ entry: DeadLetterEntry, reader: QueuedTasks) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("sequence", .number("\(entry.sequence)")), ("id", entry.id.map { .string($0.rawValue) } ?? .null),
            ("type", entry.headers[WireFormat.Header.messageType].map(JSONValue.string) ?? .null),
            ("reason", .string(entry.reason.name)), ("error", .string(entry.error)),
            ("details", .object(entry.details.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("attempts", .number("\(entry.attempts)")), ("originalSubject", .string(entry.originalSubject)),
            ("originalSequence", .number("\(entry.originalSequence)")),
            ("failedAt", entry.failedAt.map { .string(StatsCommand.timestamp($0)) } ?? .null),
            ("headers", .object(entry.headers.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ]
        if let task = reader.json(of: entry.payload, fingerprint: entry.headers[WireFormat.schemaHeader]) {
            members.append(("task", task))
        } else {
            members.append(("body", .string(Data(entry.payload).base64EncodedString())))
        }
        return .object(members)
    }
}

/// `protoqueue dead-letters list <queue>`.
struct DeadLettersListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List dead-letter records.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Start at this dead-letter sequence.") var from: UInt64?
    @Option(help: "Show at most this many records.") var limit = 20
    @Argument(help: "The queue's name.") var queue: String

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            let (reader, entries) = try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                let handle = try await QueueDirectory.queue(named: queue, connection: connection, logger: logger)
                return (try await QueuedTasks(queue: handle), try await handle.deadLetters(from: from, limit: limit))
            }
            if json {
                say(JSONValue.array(entries.map { DeadLettersCommand.json($0, reader: reader) }).text(pretty: true))
                return
            }
            var table = Table(header: ["SEQ", "ID", "REASON", "ATTEMPTS", "FAILED AT", "ERROR"], numeric: [0, 3])
            for entry in entries {
                let error = entry.error.count > 60 ? String(entry.error.prefix(57)) + "..." : entry.error
                table.rows.append([
                    "\(entry.sequence)", entry.id?.rawValue ?? "-", entry.reason.name, "\(entry.attempts)",
                    entry.failedAt.map(StatsCommand.timestamp) ?? "-", error,
                ])
            }
            say(entries.isEmpty ? "no dead letters" : table.text)
        }
    }
}

/// `protoqueue dead-letters show <queue> <sequence>`.
struct DeadLettersShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one dead-letter record with its task as JSON.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The queue's name.") var queue: String
    @Argument(help: "The record's dead-letter sequence.") var sequence: UInt64

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            let (reader, entry) = try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                let handle = try await QueueDirectory.queue(named: queue, connection: connection, logger: logger)
                return (try await QueuedTasks(queue: handle), try await handle.deadLetter(sequence: sequence))
            }
            let record = DeadLettersCommand.json(entry, reader: reader)
            if json {
                say(record.text(pretty: true))
                return
            }
            let lines: [(String, String)] =
                [
                    ("sequence", "\(entry.sequence)"), ("id", entry.id?.rawValue ?? "-"),
                    ("type", entry.headers[WireFormat.Header.messageType] ?? "-"), ("reason", entry.reason.name),
                    ("error", entry.error), ("attempts", "\(entry.attempts)"),
                    ("from", "\(entry.originalSubject) #\(entry.originalSequence)"),
                    ("failed at", entry.failedAt.map(StatsCommand.timestamp) ?? "-"),
                ] + entry.details.sorted { $0.key < $1.key }.map { ("detail \($0.key)", $0.value) }
            sayFields(lines)
            say((record["task"] ?? record["body"] ?? .null).text(pretty: true))
        }
    }
}

/// `protoqueue dead-letters replay <queue> (<sequence>... | --all)`.
struct DeadLettersReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Put dead-lettered tasks back in the queue with fresh attempts, as Queue.replayDeadLetter does.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Replay every record.") var all = false
    @Argument(help: "The queue's name.") var queue: String
    @Argument(help: "Dead-letter sequences to replay.") var sequences: [UInt64] = []

    func validate() throws {
        guard all != !sequences.isEmpty else {
            throw ValidationError("name the records to replay by their sequences, or pass --all (not both)")
        }
    }

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            let replayed = try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                let handle = try await QueueDirectory.queue(
                    named: queue, connection: connection, logger: logger, publishingEvents: true)
                let targets = all ? try await handle.deadLetters(from: nil, limit: nil).map(\.sequence) : sequences
                let progress = Progress(total: targets.count, enabled: !json && targets.count > 1)
                var replayed: [(UInt64, EnqueueReceipt)] = []
                for sequence in targets {
                    replayed.append((sequence, try await handle.replayDeadLetter(sequence: sequence)))
                    progress.advance()
                }
                progress.finish()
                return replayed
            }
            if json {
                say(
                    JSONValue.object([
                        ("replayed", .number("\(replayed.count)")),
                        (
                            "tasks",
                            .array(
                                replayed.map { sequence, receipt in
                                    .object([
                                        ("deadLetter", .number("\(sequence)")), ("id", .string(receipt.id.rawValue)),
                                        ("sequence", .number("\(receipt.sequence)")),
                                    ])
                                })
                        ),
                    ]).text(pretty: true))
                return
            }
            for (sequence, receipt) in replayed {
                say("dead letter #\(sequence) -> task \(receipt.id) at #\(receipt.sequence)")
            }
            say("replayed \(replayed.count) task(s)")
        }
    }
}

/// `protoqueue dead-letters purge <queue> --yes`.
struct DeadLettersPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge", abstract: "Delete every dead-letter record of a queue.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Confirm: the records are gone for good.") var yes = false
    @Argument(help: "The queue's name.") var queue: String

    func validate() throws {
        guard yes else { throw ValidationError("purge deletes every dead-letter record for good; pass --yes") }
    }

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            let count = try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                try await QueueDirectory.queue(named: queue, connection: connection, logger: logger).purgeDeadLetters()
            }
            say(
                json
                    ? JSONValue.object([("purged", .number("\(count)"))]).text(pretty: true)
                    : "purged \(count) record(s)")
        }
    }
}
