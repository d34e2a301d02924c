import ArgumentParser
import Foundation
import Protoqueue

/// `protoqueue peek <queue>`: tasks as JSON, without taking them.
struct PeekCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peek",
        abstract: "Show queued tasks as JSON (through the queue's registered schemas), without taking them.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Start at this stream sequence.") var from: UInt64?
    @Option(help: "Show at most this many tasks.") var limit = 10
    @Argument(help: "The queue's name.") var queue: String

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            let (reader, tasks) = try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                let handle = try await QueueDirectory.queue(named: queue, connection: connection, logger: logger)
                let reader = try await QueuedTasks(queue: handle)
                return (reader, try await reader.read(from: from, limit: limit))
            }
            if json {
                say(JSONValue.array(tasks.map(reader.json)).text(pretty: true))
                return
            }
            if tasks.isEmpty { say("no tasks") }
            for task in tasks {
                let route = task.subject.dropFirst(reader.queue.layout.subject.count + 1)
                say(
                    "#\(task.sequence)  \(task.id ?? "-")  "
                        + "\(task.headers[WireFormat.Header.messageType] ?? "-")  \(reader.enqueuedAt(task) ?? "-")  "
                        + route)
                say("    " + (reader.body(of: task)?.text() ?? "(\(task.body.count) bytes, no registered schema)"))
            }
        }
    }
}
