/// The state of an in-memory JetStream as plain values: streams, their messages and duplicate windows, and their
/// durable pull consumers (by name, with filters that do not overlap) with the deliveries they await settlements
/// for. No I/O and no lock: ``MemoryBroker``
/// guards it. Times are the broker's virtual clock, in ns.
///
/// It follows what nats-server does for the settings Protoqueue uses (work-queue or limits retention, explicit
/// acks, `MaxDeliver`, `MaxAckPending`, `BackOff`, `AckWait`): a delivered message stays pending until `+ACK` or
/// `+TERM` (acked messages leave a work-queue stream), `-NAK` with a delay and an expired ack wait make it due again,
/// and it holds its ack-pending slot meanwhile; redeliveries go before new messages, and new messages wait while
/// the pending count is at `MaxAckPending`.
struct MemoryStore {
    struct Message {
        var subject: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        var size: UInt64 { UInt64(body.count + WireFormat.encodedHeaderSize(headers.map { ($0.name, $0.value) })) }
    }

    /// A message delivered and not yet acknowledged or terminated.
    struct Pending {
        var deliveries: UInt64
        /// When it is due for redelivery (ack wait, or a `-NAK` delay), virtual ns.
        var dueAt: UInt64
        /// Whether a processor holds it right now (delivered, not settled).
        var outstanding: Bool
    }

    struct Consumer {
        init(
            name: String, filters: [String], ackWait: UInt64, backoff: [UInt64], maxDeliver: UInt64?, maxAckPending: Int
        ) {
            self.name = name
            self.filters = filters
            (exact, prefixes) = Self.split(filters)
            self.ackWait = ackWait
            self.backoff = backoff
            self.maxDeliver = maxDeliver
            self.maxAckPending = maxAckPending
        }

        var name: String
        /// Filter subjects (a subject, or one ending in `.>`); a message on any of them is the consumer's.
        var filters: [String] {
            didSet { (exact, prefixes) = Self.split(filters) }
        }
        private var exact: [String] = []
        private var prefixes: [String] = []

        /// Whether a message on `subject` is the consumer's.
        func filters(_ subject: String) -> Bool {
            exact.contains(subject) || prefixes.contains { subject.hasPrefix($0) }
        }

        private static func split(_ filters: [String]) -> ([String], [String]) {
            (
                filters.filter { !$0.hasSuffix(".>") },
                filters.filter { $0.hasSuffix(".>") }.map { String($0.dropLast()) }
            )
        }
        var ackWait: UInt64
        var backoff: [UInt64]
        /// `MaxDeliver`: attempts plus the grace deliveries, or `nil` for unlimited.
        var maxDeliver: UInt64?
        var maxAckPending: Int
        /// The last stream sequence delivered for the first time.
        var delivered: UInt64 = 0
        /// A pause: nothing is delivered before the virtual time `until` (ns); `end` is the end as asked, in Unix ms.
        var pause: (until: UInt64, end: Int64)?
        var pending: [UInt64: Pending] = [:]

        /// The ack wait after the `deliveries`th delivery (the backoff step when configured).
        func ackWait(after deliveries: UInt64) -> UInt64 {
            guard !backoff.isEmpty else { return ackWait }
            return backoff[min(Int(deliveries) - 1, backoff.count - 1)]
        }
    }

    struct Stream {
        var name: String
        var subjects: [String]
        var workQueue: Bool
        var duplicateWindow: UInt64
        var maxMessageSize: Int?
        var messages: [UInt64: Message] = [:]
        var lastSequence: UInt64 = 0
        /// `Nats-Msg-Id` → (sequence, stored at).
        var ids: [String: (sequence: UInt64, at: UInt64)] = [:]
        var consumers: [String: Consumer] = [:]

        func captures(_ subject: String) -> Bool {
            subjects.contains { pattern in
                pattern.hasSuffix(".>") ? subject.hasPrefix(String(pattern.dropLast())) : subject == pattern
            }
        }

        var firstSequence: UInt64 { messages.keys.min() ?? lastSequence + 1 }

        /// The sequence of the last message on `subject`, 0 when it has none.
        func lastSequence(on subject: String) -> UInt64 {
            messages.lazy.filter { $0.value.subject == subject }.map(\.key).max() ?? 0
        }
    }

    var streams: [String: Stream] = [:]

    /// What storing a message did.
    enum StoreResult: Equatable {
        /// Stored (or found stored under its id: a duplicate) in `stream` at `sequence`.
        case stored(stream: String, sequence: UInt64, duplicate: Bool)
        /// No stream captures the subject.
        case noStream
        /// `Nats-Expected-Last-Subject-Sequence` named another sequence than the subject's last, `current`.
        case wrongLastSequence(current: UInt64)
    }

    /// Stores a message in the stream capturing its subject, checking its id against the duplicate window first and
    /// then its `Nats-Expected-Last-Subject-Sequence`, as nats-server does.
    mutating func store(
        subject: String, headers: [(String, String)], body: [UInt8], id: String?, now: UInt64
    ) -> StoreResult {
        guard let name = streams.values.first(where: { $0.captures(subject) })?.name else { return .noStream }
        var stream = streams[name]!
        stream.ids = stream.ids.filter { $0.value.at + stream.duplicateWindow > now }
        if let id, let earlier = stream.ids[id] {
            return .stored(stream: name, sequence: earlier.sequence, duplicate: true)
        }
        if let expected = headers.first(where: { $0.0 == WireFormat.expectedLastSubjectSequenceHeader })?.1 {
            let current = stream.lastSequence(on: subject)
            guard UInt64(expected) == current else { return .wrongLastSequence(current: current) }
        }
        stream.lastSequence += 1
        let sequence = stream.lastSequence
        stream.messages[sequence] = Message(
            subject: subject, headers: headers.map { (name: $0.0, value: $0.1) }, body: body)
        if let id { stream.ids[id] = (sequence, now) }
        streams[name] = stream
        return .stored(stream: name, sequence: sequence, duplicate: false)
    }

    /// Removes a message and its pending state.
    mutating func remove(stream name: String, sequence: UInt64) -> Bool {
        guard var stream = streams[name], stream.messages.removeValue(forKey: sequence) != nil else { return false }
        for consumer in stream.consumers.keys { stream.consumers[consumer]!.pending[sequence] = nil }
        streams[name] = stream
        return true
    }

    /// The next message the consumer `consumerName` of `stream` delivers at `now`: a due redelivery first, else the
    /// next new one while fewer than `MaxAckPending` are pending. Marks it delivered.
    mutating func nextDelivery(
        stream name: String, consumer consumerName: String, now: UInt64
    ) -> (sequence: UInt64, deliveries: UInt64)? {
        guard var stream = streams[name], var consumer = stream.consumers[consumerName] else { return nil }
        if let pause = consumer.pause, now < pause.until { return nil }
        defer {
            stream.consumers[consumerName] = consumer
            streams[name] = stream
        }
        let due = consumer.pending.filter { sequence, pending in
            !pending.outstanding && pending.dueAt <= now
                && (consumer.maxDeliver.map { pending.deliveries < $0 } ?? true)
                && stream.messages[sequence] != nil
        }
        if let sequence = due.keys.min() {
            consumer.pending[sequence]!.deliveries += 1
            consumer.pending[sequence]!.outstanding = true
            let deliveries = consumer.pending[sequence]!.deliveries
            consumer.pending[sequence]!.dueAt = now + consumer.ackWait(after: deliveries)
            return (sequence, deliveries)
        }
        guard consumer.pending.count < consumer.maxAckPending else { return nil }
        let sequence = stream.messages.keys.filter {
            $0 > consumer.delivered && consumer.filters(stream.messages[$0]!.subject)
        }.min()
        guard let sequence else { return nil }
        consumer.delivered = sequence
        consumer.pending[sequence] = Pending(deliveries: 1, dueAt: now + consumer.ackWait(after: 1), outstanding: true)
        return (sequence, 1)
    }

    /// Marks every outstanding delivery whose ack wait has passed as no longer held: it is due again.
    mutating func expireAckWaits(now: UInt64) {
        for name in Array(streams.keys) {
            for consumerName in Array(streams[name]!.consumers.keys) {
                var consumer = streams[name]!.consumers[consumerName]!
                for (sequence, pending) in consumer.pending where pending.outstanding && pending.dueAt <= now {
                    consumer.pending[sequence]!.outstanding = false
                }
                streams[name]!.consumers[consumerName] = consumer
            }
        }
    }

    /// `+ACK` or `+TERM` to `consumer`: no longer pending; gone from a work-queue stream.
    mutating func acknowledge(stream name: String, consumer: String, sequence: UInt64) {
        guard streams[name]?.consumers[consumer]?.pending[sequence] != nil else { return }
        streams[name]!.consumers[consumer]!.pending[sequence] = nil
        if streams[name]!.workQueue { streams[name]!.messages[sequence] = nil }
    }

    /// `-NAK` (due again after `delay`) or `+WPI` (`delay` nil: the ack wait starts over) to `consumerName`.
    mutating func reschedule(
        stream name: String, consumer consumerName: String, sequence: UInt64, deliveries: UInt64, delay: UInt64?,
        now: UInt64
    ) {
        guard var consumer = streams[name]?.consumers[consumerName], var pending = consumer.pending[sequence],
            pending.deliveries == deliveries, pending.outstanding
        else { return }
        if let delay {
            pending.outstanding = false
            pending.dueAt = now + delay
        } else {
            pending.dueAt = now + consumer.ackWait(after: deliveries)
        }
        consumer.pending[sequence] = pending
        streams[name]!.consumers[consumerName] = consumer
    }

    /// A consumer's counters, as nats-server reports them (`num_pending`, `num_ack_pending`, `num_redelivered`).
    func consumerState(stream name: String, consumer consumerName: String) -> ConsumerState? {
        guard let stream = streams[name], let consumer = stream.consumers[consumerName] else { return nil }
        let unseen = stream.messages.filter {
            $0.key > consumer.delivered && consumer.filters($0.value.subject)
        }
        return ConsumerState(
            pending: UInt64(unseen.count), ackPending: Int64(consumer.pending.count),
            redelivered: Int64(consumer.pending.values.filter { $0.deliveries > 1 }.count), waitingPulls: 0,
            maxAckPending: Int64(consumer.maxAckPending), deliveredSequence: consumer.delivered,
            ackFloorSequence: consumer.pending.keys.min().map { $0 - 1 } ?? consumer.delivered)
    }

    func streamState(_ name: String) -> StreamState? {
        guard let stream = streams[name] else { return nil }
        return StreamState(
            messages: UInt64(stream.messages.count), bytes: stream.messages.values.reduce(0) { $0 + $1.size },
            firstSequence: stream.firstSequence, lastSequence: stream.lastSequence,
            consumerCount: stream.consumers.count)
    }

    /// Whether nothing is deliverable at `now` and no delivery is held by a processor.
    func isIdle(now: UInt64) -> Bool {
        streams.values.allSatisfy { stream in
            stream.consumers.values.allSatisfy { consumer in
                let held = consumer.pending.values.contains { $0.outstanding }
                let due = consumer.pending.contains { sequence, pending in
                    !pending.outstanding && pending.dueAt <= now && stream.messages[sequence] != nil
                        && (consumer.maxDeliver.map { pending.deliveries < $0 } ?? true)
                }
                let unseen = stream.messages.contains {
                    $0.key > consumer.delivered && consumer.filters($0.value.subject)
                }
                return !held && !due && (!unseen || consumer.pending.count >= consumer.maxAckPending)
            }
        }
    }
}
