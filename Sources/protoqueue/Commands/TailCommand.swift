import ArgumentParser
import Foundation
import Protoqueue

/// `protoqueue tail <queue>`: follow the queue's lifecycle events live.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Follow a queue's lifecycle events as they happen (queues opened with events on); Ctrl-C ends.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print one JSON object per line.") var json = false
    @Option(help: "Stop after this many events.") var count: Int?
    @Option(
        help: """
            Only these kinds, comma separated: enqueued, started, succeeded, retry_scheduled, dead_lettered, \
            discarded, replayed, paused, resumed.
            """)
    var kinds: String?
    @Argument(help: "The queue's name.") var queue: String

    static let kindNames = Dictionary(uniqueKeysWithValues: EventKinds.all.map { (EventKinds.subjectToken($0), $0) })

    func validate() throws {
        for name in kinds?.split(separator: ",") ?? [] where Self.kindNames[String(name)] == nil {
            throw ValidationError(
                "unknown event kind \(name); kinds are \(Self.kindNames.keys.sorted().joined(separator: ", "))")
        }
    }

    func run() async throws {
        let selected = kinds.map { Set($0.split(separator: ",").compactMap { Self.kindNames[String($0)] }) }
        let codec = ProtoJSON(schemas: try SchemaSet(descriptorSet: TaskEvent.protoFileDescriptorSet))
        try await reportingFailures { () async throws(ProtoqueueError) in
            try await connection.withConnection { connection, logger throws(ProtoqueueError) in
                let handle = try await QueueDirectory.queue(named: queue, connection: connection, logger: logger)
                let events = try await handle.events(kinds: selected)
                // Subscribed: a script waiting for this line may now make the events.
                FileHandle.standardError.write(Data("following \(handle.layout.eventSubject(">"))\n".utf8))
                var seen = 0
                for await event in events {
                    if json, let bytes = try? event.serializedBytes(),
                        let line = try? codec.json(fromProtobuf: bytes, message: TaskEvent.protoMessageName)
                    {
                        say(line.text())
                    } else {
                        say(Self.line(event))
                    }
                    seen += 1
                    if let count, seen >= count { break }
                }
            }
        }
    }

    /// `<time> <kind> <task id> #<sequence> attempt <n>` and the reason, error and retry delay when set; for the
    /// queue's own events, `<time> paused until <time>` or `<time> resumed`.
    static func line(_ event: TaskEvent) -> String {
        let kind = EventKinds.subjectToken(event.kind)
        let time = StatsCommand.timestamp(Date(timeIntervalSince1970: Double(event.timeUnixMs) / 1000))
        switch event.kind {
        case .paused:
            let until = Date(timeIntervalSince1970: Double(event.pausedUntilUnixMs) / 1000)
            return "\(time)  \(kind)  until "
                + (event.pausedUntilUnixMs > 0 ? StatsCommand.timestamp(until) : "resumed")
        case .resumed:
            return "\(time)  \(kind)"
        default:
            break
        }
        var text = "\(time)  \(kind)  \(event.taskID)  #\(event.sequence)  attempt \(event.attempt)"
        if !event.reason.isEmpty { text += "  reason \(event.reason)" }
        if !event.error.isEmpty { text += "  error \(event.error)" }
        if event.retryDelayMs > 0 { text += "  retry in \(event.retryDelayMs) ms" }
        return text
    }
}
