extension Queue {
    /// How many lifecycle events this queue instance published and dropped so far (zeros when events are off).
    public var eventCounts: EventCounts {
        events?.counts ?? EventCounts(published: 0, dropped: 0)
    }

    /// Follows the queue's lifecycle events as they are published, by any process (core NATS, so events published
    /// before the call, or while nobody listens, are not seen). Messages on the wire that do not decode are skipped.
    ///
    /// ```swift
    /// for await event in try await queue.events(kinds: [.deadLettered]) {
    ///     alert("task \(event.taskID) dead-lettered: \(event.reason)")
    /// }
    /// ```
    /// - Parameters:
    ///   - kinds: The kinds to follow (one subscription per kind), or `nil` for all (`<subject>.events.>`).
    ///   - bufferSize: Events kept for a reader that falls behind; beyond it the oldest are discarded.
    /// - Returns: The events, until the task iterating them is cancelled, the sequence is released, or the
    ///   connection closes.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError`` when the subscription cannot be made.
    public func events(
        kinds: Set<TaskEvent.Kind>? = nil, bufferSize: Int = 10_000
    ) async throws(ProtoqueueError) -> TaskEvents {
        try await handle.events(kinds: kinds, bufferSize: bufferSize)
    }
}

extension QueueHandle {
    /// What ``Queue/events(kinds:bufferSize:)`` returns.
    package func events(
        kinds: Set<TaskEvent.Kind>? = nil, bufferSize: Int = 10_000
    ) async throws(ProtoqueueError) -> TaskEvents {
        let (stream, continuation) = AsyncStream.makeStream(
            of: TaskEvent.self, bufferingPolicy: .bufferingNewest(max(1, bufferSize)))
        let subjects =
            kinds.map { $0.map { layout.eventSubject(EventKinds.subjectToken($0)) }.sorted() }
            ?? [layout.eventSubject(">")]
        var subscriptions: [any CoreSubscription] = []
        for subject in subjects {
            do throws(ProtoqueueError) {
                subscriptions.append(
                    try await connection.transport.subscribeCore(subject: subject) { body, _ in
                        guard let batch = try? TaskEventBatch(serializedBytes: body) else { return }
                        for event in batch.events { continuation.yield(event) }
                    })
            } catch {
                for subscription in subscriptions { subscription.cancel() }
                throw error
            }
        }
        let stop: @Sendable () -> Void = { [subscriptions] in
            for subscription in subscriptions { subscription.cancel() }
            continuation.finish()
        }
        continuation.onTermination = { _ in stop() }
        connection.onClose(stop)
        return TaskEvents(stream: stream)
    }
}

/// A queue's lifecycle events as they arrive (``Queue/events(kinds:bufferSize:)``).
public struct TaskEvents: AsyncSequence, Sendable {
    /// One event.
    public typealias Element = TaskEvent
    /// Reading never fails.
    public typealias Failure = Never

    let stream: AsyncStream<TaskEvent>

    /// Creates the iterator.
    public func makeAsyncIterator() -> Iterator { Iterator(base: stream.makeAsyncIterator()) }

    /// Reads the events in arrival order.
    public struct Iterator: AsyncIteratorProtocol {
        var base: AsyncStream<TaskEvent>.Iterator

        /// The next event, or `nil` once the subscription ended.
        public mutating func next() async -> TaskEvent? { await base.next() }
    }
}
