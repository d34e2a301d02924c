/// Whether a queue publishes lifecycle events, and how many may wait to be published
/// (``QueueConfiguration/events``).
///
/// ```swift
/// var configuration = QueueConfiguration()
/// configuration.events = .enabled()
/// let queue = try await Queue<EmailTask>(connection: connection, name: "emails", configuration: configuration,
///                                        logger: logger)
/// for await event in try await queue.events() { print(event.kind, event.taskID) }
/// ```
public struct EventConfiguration: Sendable, Hashable {
    /// Whether the queue publishes events.
    public var isEnabled: Bool
    /// Events that may wait for the publishing thread; beyond it, events are dropped and counted
    /// (``Queue/eventCounts``), never waited for.
    public var bufferCapacity: Int

    /// No events (the default).
    public static let disabled = EventConfiguration(isEnabled: false, bufferCapacity: 0)

    /// Events on, with at most `bufferCapacity` waiting to be published.
    /// - Parameter bufferCapacity: At least 1; 10,000 by default.
    /// - Returns: The configuration.
    public static func enabled(bufferCapacity: Int = 10_000) -> EventConfiguration {
        EventConfiguration(isEnabled: true, bufferCapacity: bufferCapacity)
    }
}

/// How many lifecycle events a queue published and dropped (``Queue/eventCounts``).
public struct EventCounts: Sendable, Hashable {
    /// Events handed to the connection.
    public var published: Int
    /// Events dropped because the buffer was full or the connection could not take them.
    public var dropped: Int
}
