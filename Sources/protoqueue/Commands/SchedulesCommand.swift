import ArgumentParser
import Foundation
import Protoqueue

/// `protoqueue schedules <queue>`: the declared schedules with their next tick.
struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules", abstract: "List a queue's schedules: timing, next and last tick, and the task.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The queue's name.") var queue: String

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            let (reader, entries) = try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                let handle = try await QueueDirectory.queue(named: queue, connection: connection, logger: logger)
                return (try await QueuedTasks(queue: handle), try await handle.schedules())
            }
            func task(_ entry: ScheduleEntry) -> JSONValue? {
                reader.latestSchema(of: entry.taskType).flatMap { reader.json(of: entry.body, schema: $0) }
            }
            if json {
                say(JSONValue.array(entries.map { Self.json($0, task: task($0)) }).text(pretty: true))
                return
            }
            var table = Table(header: ["NAME", "TIMING", "NEXT TICK", "LAST TICK", "TASK"])
            for entry in entries {
                table.rows.append([
                    entry.schedule.name,
                    entry.schedule.timing.description
                        + (entry.schedule.timing.timeZone.map { " \($0.identifier)" } ?? ""),
                    entry.nextTick.map(StatsCommand.timestamp) ?? "-", StatsCommand.timestamp(entry.lastTick),
                    task(entry)?.text() ?? "(\(entry.body.count) bytes of \(entry.taskType))",
                ])
            }
            say(entries.isEmpty ? "no schedules" : table.text)
        }
    }

    static func json(_ entry: ScheduleEntry, task: JSONValue?) -> JSONValue {
        let schedule = entry.schedule
        let metadata: [(key: String, value: JSONValue)] = entry.metadata.sorted { $0.key < $1.key }.map {
            ($0.key, .string($0.value))
        }
        let nextTick: JSONValue = entry.nextTick.map { .string(StatsCommand.timestamp($0)) } ?? .null
        let timeZone: JSONValue = schedule.timing.timeZone.map { .string($0.identifier) } ?? .null
        return .object([
            ("name", .string(schedule.name)), ("timing", .string(schedule.timing.description)),
            ("timeZone", timeZone), ("missedTicks", .string(schedule.missedTicks.description)),
            ("overlap", .string(schedule.overlap.description)), ("nextTick", nextTick),
            ("lastTick", .string(StatsCommand.timestamp(entry.lastTick))), ("type", .string(entry.taskType)),
            ("metadata", .object(metadata)),
            ("task", task ?? .string(Data(entry.body).base64EncodedString())),
        ])
    }
}
