import ArgumentParser
import Foundation
import Protoqueue

/// `protoqueue queues`: every queue on the server with its depth.
struct QueuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queues", abstract: "List every queue: tasks, in flight, scheduled, dead letters, paused.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            let rows = try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                var rows: [(QueueHandle, Result<QueueStats, ProtoqueueError>)] = []
                for queue in try await QueueDirectory.queues(connection: connection, logger: logger) {
                    // One broken queue (a consumer deleted behind its back) must not hide the others.
                    do throws(ProtoqueueError) {
                        rows.append((queue, .success(try await queue.stats())))
                    } catch {
                        rows.append((queue, .failure(error)))
                    }
                }
                return rows
            }
            if json {
                say(
                    JSONValue.array(
                        rows.map { queue, stats in
                            switch stats {
                            case .success(let stats): StatsCommand.json(queue, stats)
                            case .failure(let error):
                                .object([("queue", .string(queue.name)), ("error", .string(error.message))])
                            }
                        }
                    ).text(pretty: true))
                return
            }
            var table = Table(
                header: ["QUEUE", "TASKS", "PENDING", "IN FLIGHT", "SCHEDULED", "DEAD LETTERS", "PAUSED"],
                numeric: [1, 2, 3, 4, 5])
            var problems: [String] = []
            for (queue, result) in rows {
                switch result {
                case .success(let stats):
                    table.rows.append([
                        queue.name, "\(stats.messages)", "\(stats.pending)", "\(stats.ackPending)",
                        "\(stats.scheduled)", "\(stats.deadLetters)", StatsCommand.paused(stats),
                    ])
                case .failure(let error):
                    table.rows.append([queue.name, "-", "-", "-", "-", "-", "-"])
                    problems.append("\(queue.name): \(error.message)")
                }
            }
            say(rows.isEmpty ? "no queues" : table.text)
            for problem in problems { say("unreadable: \(problem)") }
        }
    }
}
