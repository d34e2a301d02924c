import Foundation

/// Publishes one queue's lifecycle events (``TaskEvent``) through its ``EventOutbox``: made only for a queue with
/// ``QueueConfiguration/events`` on. Every method fills in a ``LifecycleEvent``, offers it and returns at once; the
/// outbox's thread writes and publishes it.
final class QueueEvents: Sendable {
    private let outbox: EventOutbox

    /// The longest handler error an event carries, in bytes.
    static let maxErrorBytes = 1024

    init(outbox: EventOutbox) {
        self.outbox = outbox
    }

    /// The server stored a task (not for a duplicate, which stores nothing).
    func enqueued(_ receipt: EnqueueReceipt) {
        guard !receipt.duplicate else { return }
        emit(.enqueued, id: receipt.id, sequence: receipt.sequence)
    }

    /// A dead letter was enqueued again.
    func replayed(_ receipt: EnqueueReceipt) {
        emit(.replayed, id: receipt.id, sequence: receipt.sequence)
    }

    /// The queue was paused until `until` (`nil`: until resumed).
    func paused(until: Date?) {
        var event = LifecycleEvent(kind: .paused)
        if let until { event.pausedUntilUnixMs = Int64((until.timeIntervalSince1970 * 1000).rounded()) }
        emit(event, id: nil, sequence: 0, attempt: 0)
    }

    /// The queue was resumed by hand.
    func resumed() {
        emit(.resumed, id: nil, sequence: 0)
    }

    /// A worker started a task's handler.
    func started(id: TaskID?, sequence: UInt64, attempt: Int) {
        emit(.started, id: id, sequence: sequence, attempt: attempt)
    }

    /// A delivery was settled; `runTime` is the handler's and `error` what it threw or failed with, when one ran.
    func settled(
        _ outcome: TaskSettlement.Outcome, id: TaskID?, sequence: UInt64, attempt: Int, runTime: Duration?,
        error: (any Error)?
    ) {
        var event = LifecycleEvent()
        switch outcome {
        case .acknowledged:
            event.kind = .succeeded
        case .retried(let delay):
            event.kind = .retryScheduled
            event.retryDelayMs = UInt64(max(0, delay.nanoseconds / 1_000_000))
            if let error { event.error = Self.truncated(SettlementDecision.errorText(error)) }
        case .deadLettered(let reason, let error):
            event.kind = .deadLettered
            event.reason = reason.name
            event.error = Self.truncated(error)
        case .terminated(let reason):
            event.kind = .discarded
            event.reason = reason
        case .unsettled:
            return
        }
        if let runTime { event.runTimeUs = UInt64(max(0, runTime.nanoseconds / 1000)) }
        emit(event, id: id, sequence: sequence, attempt: attempt)
    }

    /// Counts so far.
    var counts: EventCounts { EventCounts(published: outbox.published, dropped: outbox.dropped) }

    private func emit(_ kind: TaskEvent.Kind, id: TaskID?, sequence: UInt64, attempt: Int = 0) {
        emit(LifecycleEvent(kind: kind), id: id, sequence: sequence, attempt: attempt)
    }

    private func emit(_ event: LifecycleEvent, id: TaskID?, sequence: UInt64, attempt: Int) {
        var event = event
        event.taskID = id?.rawValue ?? ""
        event.sequence = sequence
        event.attempt = UInt32(clamping: attempt)
        event.timeUnixMs = WallClock.unixMilliseconds()
        outbox.offer(event)
    }

    /// Writes a run of events of one kind as ``TaskEventBatch`` messages on `<subject>.events.<kind>`, on the
    /// outbox's thread, with a copy of `writer` (empty, made for the queue): one message, or several when the run is
    /// larger than ``maxBatchBytes`` (or half the server's largest message).
    /// - Returns: How many of the events were handed to the connection.
    static func publish(
        _ run: [LifecycleEvent], writer: TaskEventBatchWriter, layout: QueueLayout, transport: any QueueTransport
    ) -> Int {
        guard let kind = run.first?.kind else { return 0 }
        let subject = layout.eventSubject(EventKinds.subjectToken(kind))
        let limit = max(4096, min(maxBatchBytes, transport.maxPayload / 2))
        var writer = writer
        var published = 0
        func send() {
            let count = writer.count
            if transport.publishCore(subject: subject, body: writer.take()) { published += count }
        }
        for event in run {
            guard !writer.append(event, limit: limit) else { continue }
            send()
            // An empty batch takes any event.
            _ = writer.append(event, limit: limit)
        }
        if writer.count > 0 { send() }
        return published
    }

    /// The most bytes of events one message carries.
    static let maxBatchBytes = 64 * 1024

    /// `events`, in the order they happened, as the runs of one kind the outbox publishes, one message each. Task
    /// events are grouped by kind in the order of a task's life (enqueued, replayed, started, retry scheduled,
    /// succeeded, discarded, dead-lettered), so that a task whose events were gathered together keeps their order;
    /// a pause or a resume keeps its place between the events before and after it. Each event is moved out of
    /// `events` into its run, leaving an empty event in its place, rather than copied: a copy retains its strings.
    static func runs(_ events: inout [LifecycleEvent]) -> [[LifecycleEvent]] {
        var runs: [[LifecycleEvent]] = []
        var groups: [[LifecycleEvent]] = Array(repeating: [], count: EventKinds.taskLifeOrder.count)
        func flush() {
            for index in groups.indices where !groups[index].isEmpty {
                runs.append(groups[index])
                groups[index].removeAll()
            }
        }
        for index in events.indices {
            var event = LifecycleEvent()
            swap(&event, &events[index])
            if let stage = EventKinds.taskLifeOrder.firstIndex(of: event.kind) {
                groups[stage].append(consume event)
            } else {
                flush()
                runs.append([consume event])
            }
        }
        flush()
        return runs
    }

    /// `text` cut to at most ``maxErrorBytes`` of UTF-8, never inside a character's encoding.
    static func truncated(_ text: String) -> String {
        guard text.utf8.count > maxErrorBytes else { return text }
        var bytes = Array(text.utf8.prefix(maxErrorBytes))
        // Find where the last scalar starts and drop it if its encoding was cut.
        var start = bytes.count - 1
        while start > 0 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        let lead = bytes[start]
        let length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
        if bytes.count - start < length { bytes.removeSubrange(start...) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The subject token of each event kind: the last token of `<subject>.events.<kind>`.
package enum EventKinds {
    /// Every kind a queue publishes, in the order of the schema.
    package static let all = TaskEvent.Kind.allCases.filter { $0 != .unspecified }

    /// The kinds of a task's events in the order of its life; the queue's own kinds (paused, resumed) are not in it.
    static let taskLifeOrder: [TaskEvent.Kind] = [
        .enqueued, .replayed, .started, .retryScheduled, .succeeded, .discarded, .deadLettered,
    ]

    /// The last token of the kind's subject.
    package static func subjectToken(_ kind: TaskEvent.Kind) -> String {
        switch kind {
        case .enqueued: "enqueued"
        case .started: "started"
        case .succeeded: "succeeded"
        case .retryScheduled: "retry_scheduled"
        case .deadLettered: "dead_lettered"
        case .discarded: "discarded"
        case .replayed: "replayed"
        case .paused: "paused"
        case .resumed: "resumed"
        case .unspecified, .unrecognized: "unknown"
        }
    }
}
