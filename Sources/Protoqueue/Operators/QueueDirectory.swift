import Foundation
package import Logging

/// Finds the queues of an account for the `protoqueue` command (package access): every stream whose subjects are a
/// queue's (`<p>.ready.>`, `<p>.scheduled.>`, `<p>.control.>`), laid out as its policy record says (wire format
/// §6c), or with the defaults for its stream name when it has none.
package enum QueueDirectory {
    /// Every queue, sorted by name.
    package static func queues(
        connection: NATSConnection, logger: Logger
    ) async throws(ProtoqueueError) -> [QueueHandle] {
        try await entries(connection: connection, logger: logger).map(\.handle)
    }

    /// The queue called `name` (or whose stream is called `name`).
    /// - Parameter publishingEvents: Whether the handle publishes the queue's pause, resume and replay events when
    ///   its policy record says that events are on (for the commands that pause, resume or replay).
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` naming the queues there are.
    package static func queue(
        named name: String, connection: NATSConnection, logger: Logger, publishingEvents: Bool = false
    ) async throws(ProtoqueueError) -> QueueHandle {
        let all = try await entries(connection: connection, logger: logger)
        guard
            let found = all.first(where: { $0.handle.name == name })
                ?? all.first(where: { $0.handle.layout.streamName == name })
        else {
            let known = all.isEmpty ? "there are none" : "there are " + all.map(\.handle.name).joined(separator: ", ")
            throw ProtoqueueError(.streamNotFound, "no queue \"\(name)\" on the server (\(known))")
        }
        guard publishingEvents, let taskType = found.taskType else { return found.handle }
        return found.handle.publishingEvents(taskType: taskType)
    }

    /// Every queue with the task type its policy record names, sorted by name.
    private static func entries(
        connection: NATSConnection, logger: Logger
    ) async throws(ProtoqueueError) -> [(handle: QueueHandle, taskType: String?)] {
        var entries: [(handle: QueueHandle, taskType: String?)] = []
        for (stream, subjects) in try await connection.transport.streamSubjects() {
            guard let prefix = queuePrefix(of: subjects) else { continue }
            entries.append(try await handle(stream: stream, prefix: prefix, connection: connection, logger: logger))
        }
        return entries.sorted { $0.handle.name < $1.handle.name }
    }

    /// The subject prefix of a queue's stream subjects, or `nil` for a stream that is not a queue's.
    static func queuePrefix(of subjects: [String]) -> String? {
        for subject in subjects where subject.hasSuffix(".ready.>") {
            let prefix = String(subject.dropLast(".ready.>".count))
            if Set(subjects) == ["\(prefix).ready.>", "\(prefix).scheduled.>", "\(prefix).control.>"] { return prefix }
        }
        return nil
    }

    /// The queue of `stream`, laid out as its policy record says, and the task type the record names.
    static func handle(
        stream: String, prefix: String, connection: NATSConnection, logger: Logger
    ) async throws(ProtoqueueError) -> (handle: QueueHandle, taskType: String?) {
        var configuration = QueueConfiguration(streamName: stream, subject: prefix)
        var name = stream
        var taskType: String?
        let bare = try QueueHandle(connection: connection, name: name, configuration: configuration, logger: logger)
        if let text = try? await bare.policy(),
            let policy = try? JSONDecoder().decode(
                QueuePolicyRecord.self, from: Data(text.utf8))
        {
            name = policy.queue
            configuration.consumer.durableName = policy.consumer
            configuration.events = policy.events == true ? .enabled() : .disabled
            taskType = policy.taskType
            if let deadLetters = policy.deadLetterStream {
                configuration.deadLetter.streamName = deadLetters
                configuration.deadLetter.subject = policy.deadLetterSubject
            } else {
                configuration.deadLetter = .disabled
            }
            if policy.tiers.count > 1 || policy.tiers.first?.name != QueueLayout.defaultTier {
                configuration.priorities =
                    policy.priorityMode == "strict"
                    ? .strict(policy.tiers.map(\.name), default: policy.defaultTier)
                    : .weighted(policy.tiers.map { ($0.name, $0.weight) }, default: policy.defaultTier)
            }
        }
        let handle = try? QueueHandle(connection: connection, name: name, configuration: configuration, logger: logger)
        return (handle ?? bare, taskType)
    }
}
