import ArgumentParser
import Foundation
import Protoqueue

/// `protoqueue pause <queue>`: no worker starts a new task until resumed.
struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause a queue for every worker (nats-server 2.11 or later); running tasks finish.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Option(name: .customLong("for"), help: "Resume on its own after this many seconds.") var seconds: Double?
    @Argument(help: "The queue's name.") var queue: String

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            let until = seconds.map { Date().addingTimeInterval($0) }
            let stats = try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                let handle = try await QueueDirectory.queue(
                    named: queue, connection: connection, logger: logger, publishingEvents: true)
                try await handle.pause(until: until)
                return try await handle.stats()
            }
            say(
                json
                    ? JSONValue.object([("queue", .string(queue)), ("paused", .string(StatsCommand.paused(stats)))])
                        .text(pretty: true) : "queue \(queue) paused: \(StatsCommand.paused(stats))")
        }
    }
}

/// `protoqueue resume <queue>`.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume a paused queue: workers start tasks again at once.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The queue's name.") var queue: String

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                try await QueueDirectory.queue(
                    named: queue, connection: connection, logger: logger, publishingEvents: true
                ).resume()
            }
            say(
                json
                    ? JSONValue.object([("queue", .string(queue)), ("paused", .string("no"))]).text(pretty: true)
                    : "queue \(queue) resumed")
        }
    }
}
