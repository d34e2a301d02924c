import Foundation
import Protoqueue

/// A task as it sits in a queue's stream, shown through the schema registry.
struct QueuedTask {
    var sequence: UInt64
    var subject: String
    var headers: [String: String]
    var body: [UInt8]

    /// The task's schema fingerprint (`Protoqueue-Schema`), if it has one.
    var fingerprint: String? { headers[WireFormat.schemaHeader] }
    /// The task's id: `Protoqueue-Task-Id` on a replayed or moved task, else `Nats-Msg-Id`.
    var id: String? { headers[WireFormat.taskIDHeader] ?? headers[WireFormat.Header.messageID] }
}

/// Reads a queue's tasks and renders them as JSON through the schemas registered for the queue.
struct QueuedTasks {
    let queue: QueueHandle
    let schemas: [RegisteredSchema]
    /// A codec per registered fingerprint whose descriptors read.
    let codecs: [String: ProtoJSON]

    init(queue: QueueHandle) async throws(ProtoqueueError) {
        self.queue = queue
        self.schemas = try await queue.registeredSchemas()
        var codecs: [String: ProtoJSON] = [:]
        for schema in schemas {
            codecs[schema.fingerprint.rawValue] = Self.codec(schema)
        }
        self.codecs = codecs
    }

    /// A codec for `schema`'s descriptors, or `nil` when they do not read.
    static func codec(_ schema: RegisteredSchema) -> ProtoJSON? {
        (try? SchemaSet(descriptorSet: schema.descriptorSet)).map { ProtoJSON(schemas: $0) }
    }

    /// Tasks from sequence `from` (the first when `nil`) on, skipping the library's records, at most `limit`.
    func read(from: UInt64?, limit: Int?) async throws(ProtoqueueError) -> [QueuedTask] {
        let (first, last) = try await queue.sequences()
        var tasks: [QueuedTask] = []
        var sequence = max(from ?? first, first)
        let taskPrefixes = ["\(queue.layout.subject).ready.", "\(queue.layout.subject).scheduled."]
        while sequence <= last, tasks.count < limit ?? Int.max {
            guard let stored = try await queue.storedMessage(atOrAfter: sequence), stored.sequence <= last else {
                break
            }
            if taskPrefixes.contains(where: { stored.subject.hasPrefix($0) }) {
                tasks.append(
                    QueuedTask(
                        sequence: stored.sequence, subject: stored.subject, headers: stored.headers, body: stored.body))
            }
            sequence = stored.sequence + 1
        }
        return tasks
    }

    /// The task's body as JSON through its registered schema, or `nil` when no registered schema reads it.
    func body(of task: QueuedTask) -> JSONValue? { json(of: task.body, fingerprint: task.fingerprint) }

    /// `body` as JSON through the registered schema `fingerprint` names, or `nil` when none reads it.
    func json(of body: [UInt8], fingerprint: String?) -> JSONValue? {
        guard let schema = schemas.first(where: { $0.fingerprint.rawValue == fingerprint }) else { return nil }
        return json(of: body, schema: schema)
    }

    /// `body` as JSON through `schema`, or `nil` when it does not read as its type.
    func json(of body: [UInt8], schema: RegisteredSchema) -> JSONValue? {
        try? codecs[schema.fingerprint.rawValue]?.json(fromProtobuf: body, message: schema.messageName)
    }

    /// The most recently registered schema of type `type` (any type when `nil`).
    func latestSchema(of type: String? = nil) -> RegisteredSchema? {
        schemas.filter { type == nil || $0.messageName == type }
            .max { ($0.registeredAt ?? .distantPast) < ($1.registeredAt ?? .distantPast) }
    }

    /// The task as JSON: sequence, subject, id, type, enqueue time, schema, headers, and its body as JSON (or as
    /// base64 under `body` when no registered schema reads it).
    func json(_ task: QueuedTask) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("sequence", .number("\(task.sequence)")), ("subject", .string(task.subject)),
            ("id", task.id.map(JSONValue.string) ?? .null),
            ("type", task.headers[WireFormat.Header.messageType].map(JSONValue.string) ?? .null),
            ("enqueuedAt", enqueuedAt(task).map(JSONValue.string) ?? .null),
            ("schema", task.fingerprint.map(JSONValue.string) ?? .null),
            ("headers", .object(task.headers.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ]
        if let body = body(of: task) {
            members.append(("task", body))
        } else {
            members.append(("body", .string(Data(task.body).base64EncodedString())))
        }
        return .object(members)
    }

    /// `Protoqueue-Enqueued-At` as ISO 8601 UTC.
    func enqueuedAt(_ task: QueuedTask) -> String? {
        task.headers[WireFormat.Header.enqueuedAt].flatMap(Int64.init).map {
            StatsCommand.timestamp(Date(timeIntervalSince1970: Double($0) / 1000))
        }
    }
}
