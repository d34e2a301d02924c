import ArgumentParser
import Foundation
import Protoqueue

/// `protoqueue stats <queue>`: one queue's counters.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show one queue's depth, consumers, dead letters and pause state.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The queue's name.") var queue: String

    func run() async throws {
        try await reportingFailures { () async throws(ProtoqueueError) in
            let (handle, stats) = try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                let handle = try await QueueDirectory.queue(named: queue, connection: connection, logger: logger)
                return (handle, try await handle.stats())
            }
            if json {
                say(Self.json(handle, stats).text(pretty: true))
                return
            }
            let lines: [(String, String)] = [
                ("queue", handle.name), ("stream", handle.layout.streamName), ("subject", handle.layout.subject),
                ("tasks", "\(stats.messages)"), ("pending", "\(stats.pending)"), ("in flight", "\(stats.ackPending)"),
                ("max in flight", "\(stats.maxAckPending)"), ("redelivered", "\(stats.redelivered)"),
                ("scheduled", "\(stats.scheduled)"), ("schedules", "\(stats.schedules)"),
                ("dead letters", "\(stats.deadLetters)"), ("paused", paused(stats)),
                (
                    "sequences",
                    stats.firstSequence > stats.lastSequence ? "none" : "\(stats.firstSequence)...\(stats.lastSequence)"
                ),
            ]
            sayFields(lines)
        }
    }

    func paused(_ stats: QueueStats) -> String { Self.paused(stats) }

    /// `no`, `yes` or `until <time>`.
    static func paused(_ stats: QueueStats) -> String {
        guard stats.isPaused else { return "no" }
        return stats.pausedUntil.map { "until \(timestamp($0))" } ?? "yes"
    }

    /// A time as ISO 8601 UTC with milliseconds.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// The queue's counters as JSON.
    static func json(_ queue: QueueHandle, _ stats: QueueStats) -> JSONValue {
        func number<N: BinaryInteger>(_ value: N) -> JSONValue { .number("\(value)") }
        return .object([
            ("queue", .string(queue.name)), ("stream", .string(queue.layout.streamName)),
            ("subject", .string(queue.layout.subject)), ("tasks", number(stats.messages)),
            ("pending", number(stats.pending)), ("inFlight", number(stats.ackPending)),
            ("maxInFlight", number(stats.maxAckPending)), ("redelivered", number(stats.redelivered)),
            ("scheduled", number(stats.scheduled)), ("schedules", number(stats.schedules)),
            ("deadLetters", number(stats.deadLetters)), ("paused", .bool(stats.isPaused)),
            ("pausedUntil", stats.pausedUntil.map { .string(timestamp($0)) } ?? .null),
            ("firstSequence", number(stats.firstSequence)), ("lastSequence", number(stats.lastSequence)),
        ])
    }
}
