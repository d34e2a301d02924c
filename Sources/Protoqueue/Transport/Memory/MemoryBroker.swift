import Foundation
import Synchronization

/// An in-memory stand-in for a JetStream server, behind the same ``QueueTransport`` as ``NATSClient``: the
/// `ProtoqueueTesting` product wraps it. Its ack waits, `-NAK` delays and duplicate windows run on a virtual clock
/// that only ``advance(by:)`` moves; pull requests expire on the processors' own (real) clock, as they must for
/// ``ProcessorEngine``.
package final class MemoryBroker: QueueTransport, Sendable {
    struct State {
        var store = MemoryStore()
        /// The virtual clock, ns.
        var now: UInt64 = 0
        var closed = false
        /// Calls in progress (``beginCall()``), running processors included.
        var calls = 0
    }

    let state = Mutex(State())
    let hubs = Mutex<MemoryHub?>(nil)
    private let core = MemoryCoreSubjects()
    /// The largest message accepted, as a server's `max_payload`.
    package let maxPayload: Int

    /// Creates an empty broker.
    /// - Parameter maxPayload: The largest message (headers plus body) it accepts.
    package init(maxPayload: Int = 1_048_576) {
        self.maxPayload = maxPayload
    }

    /// Unix ms for due times: the wall clock plus the virtual time advanced, so that a task delayed by `d` (from
    /// the wall clock, as producers compute it) is due once ``advance(by:)`` moved the clock by `d`.
    func scheduleClockMilliseconds() -> Int64 {
        WallClock.unixMilliseconds() + Int64(state.withLock { $0.now } / 1_000_000)
    }

    /// The virtual time elapsed since the broker was made.
    package var elapsed: Duration { .nanoseconds(Int64(state.withLock { $0.now })) }

    /// Moves the virtual clock: ack waits and `-NAK` delays that pass make their tasks due again, rescheduled retries
    /// among them.
    package func advance(by duration: Duration) {
        state.withLock { state in
            state.now += UInt64(max(0, duration.nanoseconds))
            state.store.expireAckWaits(now: state.now)
        }
        hubs.withLock { $0 }?.wake()
    }

    /// Whether no task is deliverable now and none is held by a processor (settlements in flight included).
    package var isIdle: Bool {
        let storeIdle = state.withLock { $0.store.isIdle(now: $0.now) }
        return storeIdle && (hubs.withLock { $0 }?.isQuiet ?? true)
    }

    /// Whether the delivery thread has nothing queued and is not running anything.
    package var isQuiet: Bool { hubs.withLock { $0 }?.isQuiet ?? true }

    /// The stored messages of `stream` in sequence order: sequence, subject, headers and body.
    package func messages(
        of stream: String
    ) -> [(sequence: UInt64, subject: String, headers: [(name: String, value: String)], body: [UInt8])] {
        state.withLock { state in
            guard let stream = state.store.streams[stream] else { return [] }
            return stream.messages.keys.sorted().map { sequence in
                let message = stream.messages[sequence]!
                return (sequence, message.subject, message.headers, message.body)
            }
        }
    }

    /// The next task the consumer of `layout` delivers now, marked delivered, or `nil`.
    func nextDelivery(layout: QueueLayout) -> MemoryMessage? {
        state.withLock { state in
            guard
                let next = state.store.nextDelivery(
                    stream: layout.streamName, consumer: layout.consumerName, now: state.now),
                let message = state.store.streams[layout.streamName]?.messages[next.sequence]
            else { return nil }
            return MemoryMessage(
                subject: message.subject, headers: message.headers, body: message.body,
                delivery: DeliveryMetadata(
                    stream: layout.streamName, consumer: layout.consumerName, deliveries: next.deliveries,
                    streamSequence: next.sequence))
        }
    }

    // MARK: QueueTransport

    func publishCore(subject: String, body: [UInt8]) -> Bool {
        guard !state.withLock({ $0.closed }) else { return false }
        core.publish(subject: subject, body: body)
        return true
    }

    func subscribeCore(
        subject: String, deliver: @escaping @Sendable ([UInt8], String) -> Void
    ) async throws(ProtoqueueError) -> any CoreSubscription {
        try checkOpen()
        return core.subscribe(subject: subject, deliver: deliver)
    }

    func beginCall() throws(ProtoqueueError) {
        try state.withLock { state throws(ProtoqueueError) in
            guard !state.closed else {
                throw ProtoqueueError(.connectionClosed, "the in-memory connection is closed")
            }
            state.calls += 1
        }
    }

    func endCall() { state.withLock { $0.calls -= 1 } }

    /// Throws once the broker is closed.
    func checkOpen() throws(ProtoqueueError) {
        if state.withLock({ $0.closed }) {
            throw ProtoqueueError(.connectionClosed, "the in-memory connection is closed")
        }
    }

    func currentMaxPayload() throws(ProtoqueueError) -> Int {
        try checkOpen()
        return maxPayload
    }

    /// Stops the running processors (they finish their handlers), waits for them, then ends the delivery thread.
    func close() async {
        state.withLock { $0.closed = true }
        let hub = hubs.withLock { $0 }
        hub?.connectionClosing()
        while state.withLock({ $0.calls > 0 }) { try? await Task.sleep(for: .milliseconds(1)) }
        hubs.withLock { $0 = nil }
        hub?.stop()
    }

    func provision(
        _ layout: QueueLayout, configuration: QueueConfiguration, create: Bool
    ) async throws(ProtoqueueError) -> ProvisionedStream {
        try checkOpen()
        return try state.withLock { state throws(ProtoqueueError) -> ProvisionedStream in
            var result = ProvisionedStream(
                maxMessageSize: configuration.maxMessageSize.map(Int.init), createdStream: false,
                createdConsumer: false)
            if state.store.streams[layout.streamName] == nil {
                guard create else {
                    throw ProtoqueueError(.streamNotFound, "verify stream \"\(layout.streamName)\": stream not found")
                }
                state.store.streams[layout.streamName] = MemoryStore.Stream(
                    name: layout.streamName, subjects: layout.streamSubjects,
                    workQueue: configuration.retention == .workQueue,
                    duplicateWindow: UInt64(configuration.duplicateWindow.nanoseconds),
                    maxMessageSize: result.maxMessageSize)
                result.createdStream = true
            }
            if configuration.deadLetter.enabled && state.store.streams[layout.deadLetterStreamName] == nil && create {
                state.store.streams[layout.deadLetterStreamName] = MemoryStore.Stream(
                    name: layout.deadLetterStreamName, subjects: [layout.deadLetterSubject], workQueue: false,
                    duplicateWindow: UInt64(configuration.duplicateWindow.nanoseconds), maxMessageSize: nil)
            }
            for consumerLayout in layout.workerConsumers + [layout.scheduledTasks] {
                let name = consumerLayout.consumerName
                guard state.store.streams[layout.streamName]!.consumers[name] == nil else { continue }
                guard create else {
                    throw ProtoqueueError(.streamNotFound, "verify consumer \"\(name)\": consumer not found")
                }
                state.store.streams[layout.streamName]!.consumers[name] = Self.consumer(
                    consumerLayout, configuration: configuration)
                if !consumerLayout.isScheduledTasks { result.createdConsumer = true }
            }
            return result
        }
    }

    func streamSubjects() async throws(ProtoqueueError) -> [String: [String]] {
        try checkOpen()
        return state.withLock { state in state.store.streams.mapValues(\.subjects) }
    }

    func ensureRegistry(replicas: Int, create: Bool) async throws(ProtoqueueError) -> Bool {
        try checkOpen()
        return state.withLock { state in
            let name = QueueLayout.registryStreamName
            if state.store.streams[name] == nil && create {
                state.store.streams[name] = MemoryStore.Stream(
                    name: name, subjects: [QueueLayout.registrySubjects], workQueue: false,
                    duplicateWindow: UInt64(Duration.seconds(120).nanoseconds), maxMessageSize: nil)
            }
            return state.store.streams[name] != nil
        }
    }

    /// The consumer of `layout` with its ``ConsumerSettings``.
    private static func consumer(_ layout: QueueLayout, configuration: QueueConfiguration) -> MemoryStore.Consumer {
        let settings = ConsumerSettings(layout: layout, configuration: configuration)
        return MemoryStore.Consumer(
            name: layout.consumerName, filters: layout.consumerFilters,
            ackWait: UInt64(settings.ackWait.nanoseconds), backoff: settings.backoff.map { UInt64($0.nanoseconds) },
            maxDeliver: settings.maxDeliver.map(UInt64.init), maxAckPending: settings.maxAckPending ?? .max)
    }

    func streamState(_ stream: String) async throws(ProtoqueueError) -> StreamState? {
        try checkOpen()
        return state.withLock { $0.store.streamState(stream) }
    }

    func message(stream: String, sequence: UInt64, operation: String) async throws(ProtoqueueError) -> StoredMessage? {
        try checkOpen()
        return try state.withLock { state throws(ProtoqueueError) -> StoredMessage? in
            guard let found = state.store.streams[stream] else {
                throw ProtoqueueError(.streamNotFound, "\(operation): stream not found")
            }
            return found.messages[sequence].map {
                StoredMessage(subject: $0.subject, body: $0.body, headers: $0.headers, sequence: sequence)
            }
        }
    }

    func message(
        stream: String, atOrAfter sequence: UInt64, subject: String, operation: String
    ) async throws(ProtoqueueError) -> StoredMessage? {
        try checkOpen()
        return try state.withLock { state throws(ProtoqueueError) -> StoredMessage? in
            guard let found = state.store.streams[stream] else {
                throw ProtoqueueError(.streamNotFound, "\(operation): stream not found")
            }
            let next = found.messages.lazy.filter {
                $0.key >= sequence && WireFormat.subject($0.value.subject, matches: subject)
            }.map(\.key).min()
            guard let next else { return nil }
            return found.messages[next].map {
                StoredMessage(subject: $0.subject, body: $0.body, headers: $0.headers, sequence: next)
            }
        }
    }

    @discardableResult
    func deleteMessage(stream: String, sequence: UInt64, operation: String) async throws(ProtoqueueError) -> Bool {
        try checkOpen()
        return state.withLock { $0.store.remove(stream: stream, sequence: sequence) }
    }

    func purge(stream: String, operation: String) async throws(ProtoqueueError) {
        try checkOpen()
        try state.withLock { state throws(ProtoqueueError) in
            guard state.store.streams[stream] != nil else {
                throw ProtoqueueError(.streamNotFound, "\(operation): stream not found")
            }
            state.store.streams[stream]!.messages.removeAll()
            for consumer in state.store.streams[stream]!.consumers.keys {
                state.store.streams[stream]!.consumers[consumer]!.pending.removeAll()
            }
        }
    }

    func purge(stream: String, subject: String, operation: String) async throws(ProtoqueueError) {
        try checkOpen()
        try state.withLock { state throws(ProtoqueueError) in
            guard let found = state.store.streams[stream] else {
                throw ProtoqueueError(.streamNotFound, "\(operation): stream not found")
            }
            for (sequence, message) in found.messages where WireFormat.subject(message.subject, matches: subject) {
                _ = state.store.remove(stream: stream, sequence: sequence)
            }
        }
    }

    func lastMessage(
        stream: String, subject: String, operation: String
    ) async throws(ProtoqueueError) -> StoredMessage? {
        try checkOpen()
        return try state.withLock { state throws(ProtoqueueError) -> StoredMessage? in
            guard let found = state.store.streams[stream] else {
                throw ProtoqueueError(.streamNotFound, "\(operation): stream not found")
            }
            let sequence = found.lastSequence(on: subject)
            return found.messages[sequence].map {
                StoredMessage(subject: $0.subject, body: $0.body, headers: $0.headers, sequence: sequence)
            }
        }
    }

    func subjectCounts(
        stream: String, filter: String, operation: String
    ) async throws(ProtoqueueError) -> [String: UInt64] {
        try checkOpen()
        return try state.withLock { state throws(ProtoqueueError) -> [String: UInt64] in
            guard let found = state.store.streams[stream] else {
                throw ProtoqueueError(.streamNotFound, "\(operation): stream not found")
            }
            var counts: [String: UInt64] = [:]
            for message in found.messages.values where WireFormat.subject(message.subject, matches: filter) {
                counts[message.subject, default: 0] += 1
            }
            return counts
        }
    }

    func publish(_ prepared: PreparedMessage, maxAttempts: Int) async throws(ProtoqueueError) -> EnqueueReceipt {
        try checkOpen()
        return try store(prepared)
    }

    /// Stores a message as published by a foreign producer; returns its sequence.
    package func publishRaw(
        subject: String, headers: [(name: String, value: String)], body: [UInt8]
    ) throws(ProtoqueueError) -> UInt64 {
        let id = headers.first { $0.name == WireFormat.Header.messageID }?.value
        let prepared = PreparedMessage(
            subject: subject, headers: headers.map { ($0.name, $0.value) }, body: body, id: TaskID(id ?? ""))
        return try store(prepared).sequence
    }

    /// Stores `prepared` in the stream capturing its subject and wakes the processors.
    func store(_ prepared: PreparedMessage) throws(ProtoqueueError) -> EnqueueReceipt {
        if prepared.totalSize > maxPayload {
            throw ProtoqueueError(.payloadTooLarge, "message of \(prepared.totalSize) bytes over max_payload")
        }
        let stored = state.withLock { state in
            state.store.store(
                subject: prepared.subject, headers: prepared.headers, body: prepared.body,
                id: prepared.headers.first { $0.0 == WireFormat.Header.messageID }?.1, now: state.now)
        }
        switch stored {
        case .noStream:
            throw ProtoqueueError(.noStreamForSubject, "no stream captures subject \"\(prepared.subject)\"")
        case .wrongLastSequence(let current):
            throw ProtoqueueError(
                .conflict,
                "publish to \"\(prepared.subject)\": another writer changed the subject first (wrong last sequence: "
                    + "\(current))")
        case .stored(let stream, let sequence, let duplicate):
            hubs.withLock { $0 }?.wake()
            return EnqueueReceipt(id: prepared.id, sequence: sequence, duplicate: duplicate, stream: stream)
        }
    }

    func publishBatch(
        options: BatchOptions, source: @escaping @Sendable () -> BatchInput?,
        sink: @escaping @Sendable (BatchOutput) -> Void
    ) async throws(ProtoqueueError) -> BatchSummary {
        try checkOpen()
        // The source may block (a streamed batch): read it on a thread of its own, never on the cooperative pool.
        return try await BlockingThreadPool.runDedicated(name: "protoqueue-memory-batch") {
            [self] () throws(ProtoqueueError) -> BatchSummary in
            var summary = BatchSummary()
            var index = 0
            while let input = source() {
                summary.total += 1
                let result: Result<EnqueueReceipt, ProtoqueueError>
                switch input.prepared {
                case .success(let prepared):
                    do throws(ProtoqueueError) {
                        result = .success(try store(prepared))
                    } catch {
                        result = .failure(error)
                    }
                case .failure(let error): result = .failure(error)
                }
                switch result {
                case .success(let receipt):
                    summary.succeeded += 1
                    if receipt.duplicate { summary.duplicates += 1 }
                case .failure: summary.failed += 1
                }
                sink((index, result))
                index += 1
            }
            return summary
        }
    }

    func deliveries(for layout: QueueLayout) async throws(ProtoqueueError) -> any DeliveryTransport {
        try checkOpen()
        let exists = state.withLock { $0.store.streams[layout.streamName]?.consumers[layout.consumerName] != nil }
        guard exists else {
            throw ProtoqueueError(
                .streamNotFound,
                "bind to consumer \"\(layout.consumerName)\" of stream \"\(layout.streamName)\": "
                    + "consumer not found")
        }
        return hubs.withLock { hub in
            if let hub { return hub }
            let made = MemoryHub(broker: self)
            hub = made
            return made
        }
    }
}
