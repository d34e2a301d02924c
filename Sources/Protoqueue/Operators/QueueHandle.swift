import Foundation
package import Logging

/// A queue known by its name and layout, without a task type: what ``Queue`` does that needs no `Message`, and what
/// the `protoqueue` command works with (package access; applications use ``Queue``).
package struct QueueHandle: Sendable {
    /// The queue's name.
    package let name: String
    /// The connection it uses.
    package let connection: NATSConnection
    /// Its stream, subjects and consumers.
    package let layout: QueueLayout
    /// The configuration the layout came from (its priority tiers decide an enqueue's subject).
    package let configuration: QueueConfiguration
    let logger: Logger
    /// Where its lifecycle events go when they are on: a pause, a resume and a replay each publish one.
    let events: QueueEvents?

    /// A handle on queue `name` as `configuration` lays it out; nothing is created or checked.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidName`` for a name or configuration that makes no
    ///   layout.
    package init(
        connection: NATSConnection, name: String, configuration: QueueConfiguration, logger: Logger
    ) throws(ProtoqueueError) {
        self.init(
            connection: connection, name: name, layout: try QueueLayout(queueName: name, configuration: configuration),
            configuration: configuration, logger: logger, events: nil)
    }

    init(
        connection: NATSConnection, name: String, layout: QueueLayout, configuration: QueueConfiguration,
        logger: Logger, events: QueueEvents?
    ) {
        self.name = name
        self.connection = connection
        self.layout = layout
        self.configuration = configuration
        self.logger = logger
        self.events = events
    }

    /// The same handle publishing the queue's pause, resume and replay events, as its workers' queues do, when
    /// ``QueueConfiguration/events`` is on; itself otherwise.
    /// - Parameter taskType: The full protobuf name the events carry.
    func publishingEvents(taskType: String) -> QueueHandle {
        guard configuration.events.isEnabled, events == nil else { return self }
        let events = QueueEvents(
            outbox: connection.makeEventOutbox(
                capacity: configuration.events.bufferCapacity, queue: name, taskType: taskType, layout: layout,
                logger: logger))
        return QueueHandle(
            connection: connection, name: name, layout: layout, configuration: configuration, logger: logger,
            events: events)
    }

    /// The first message of the queue's stream at `sequence` or after it (deleted ones skipped by the server), or
    /// `nil` when there is none: its sequence, subject, headers (first value of each) and body.
    package func storedMessage(
        atOrAfter sequence: UInt64
    ) async throws(ProtoqueueError) -> (sequence: UInt64, subject: String, headers: [String: String], body: [UInt8])? {
        let stored = try await connection.transport.message(
            stream: layout.streamName, atOrAfter: sequence, subject: ">",
            operation: "read the message at or after \(sequence) of \(layout.streamName)")
        return stored.map { ($0.sequence, $0.subject, $0.firstHeaderValues, $0.body) }
    }

    /// The first and last sequence of the queue's stream (first above last when it holds nothing).
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` when the stream is missing.
    package func sequences() async throws(ProtoqueueError) -> (first: UInt64, last: UInt64) {
        guard let stream = try await connection.transport.streamState(layout.streamName) else {
            throw ProtoqueueError(.streamNotFound, "read stream \"\(layout.streamName)\": stream not found")
        }
        return (stream.firstSequence, stream.lastSequence)
    }

    /// Every schema registered for the queue, in fingerprint order.
    package func registeredSchemas() async throws(ProtoqueueError) -> [RegisteredSchema] {
        try await SchemaRegistry(transport: connection.transport, layout: layout).schemas()
    }

    /// The queue's policy record (wire format §6c) as JSON text, or `nil` when none is registered.
    package func policy() async throws(ProtoqueueError) -> String? {
        let stored = try await connection.transport.lastMessage(
            stream: QueueLayout.registryStreamName, subject: layout.policyRecordSubject,
            operation: "read the policy of \(name)")
        return stored.map { String(decoding: $0.body, as: UTF8.self) }
    }
}

extension Queue {
    /// The queue without its task type.
    var handle: QueueHandle {
        QueueHandle(
            connection: connection, name: name, layout: layout, configuration: configuration, logger: logger,
            events: events)
    }
}
