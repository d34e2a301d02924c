import ProtoqueueSchema

/// Writes ``TaskEventBatch`` messages of one queue's events straight to protobuf bytes, event by event, up to a size
/// limit: the bytes the generated encoder writes for the same events as ``TaskEvent``s (`TaskEventBatchWriterTests`
/// compares them), without building protobuf-c structures on the way. The queue and task type fields are written
/// once, at the start, and copied into each event. Events carry no unknown fields, so none are written. A string
/// holding U+0000, which the generated encoder refuses, is written as it is.
struct TaskEventBatchWriter {
    private var batch = WireWriter()
    private var event = WireWriter()
    /// Fields 2 and 3 (queue, task type) of every event, already written.
    private let queueFields: [UInt8]
    /// Events in the batch so far.
    private(set) var count = 0

    /// A writer of events of the queue `queue`, whose tasks are of `taskType`.
    init(queue: String, taskType: String) {
        var fields = WireWriter()
        if !queue.isEmpty { fields.string(2, queue) }
        if !taskType.isEmpty { fields.string(3, taskType) }
        queueFields = fields.bytes
    }

    /// Adds `lifecycleEvent` when the batch is empty or stays within `limit` bytes with it.
    /// - Returns: Whether it was added.
    mutating func append(_ lifecycleEvent: LifecycleEvent, limit: Int) -> Bool {
        event.bytes.removeAll(keepingCapacity: true)
        write(lifecycleEvent, to: &event)
        let end = batch.bytes.count
        batch.lengthDelimited(1, event.bytes)
        // Past the limit: taken back out (once per full batch).
        guard count == 0 || batch.bytes.count <= limit else {
            batch.bytes.removeSubrange(end...)
            return false
        }
        count += 1
        return true
    }

    /// The batch's bytes; the writer starts a new, empty batch.
    mutating func take() -> [UInt8] {
        count = 0
        var bytes: [UInt8] = []
        swap(&bytes, &batch.bytes)
        batch.bytes.reserveCapacity(bytes.count)
        return bytes
    }

    /// The event's fields in field-number order, those at their default value left out (proto3).
    private func write(_ event: LifecycleEvent, to writer: inout WireWriter) {
        if event.kind.rawValue != 0 {
            writer.tag(1, wireType: 0)
            // An enum is an int32: a negative value takes ten bytes, sign-extended.
            writer.varint(UInt64(bitPattern: Int64(event.kind.rawValue)))
        }
        writer.bytes.append(contentsOf: queueFields)
        if !event.taskID.isEmpty { writer.string(4, event.taskID) }
        Self.varint(5, event.sequence, to: &writer)
        Self.varint(6, UInt64(event.attempt), to: &writer)
        Self.varint(7, UInt64(bitPattern: event.timeUnixMs), to: &writer)
        Self.varint(8, event.retryDelayMs, to: &writer)
        if !event.reason.isEmpty { writer.string(9, event.reason) }
        if !event.error.isEmpty { writer.string(10, event.error) }
        Self.varint(11, event.runTimeUs, to: &writer)
        Self.varint(12, UInt64(bitPattern: event.pausedUntilUnixMs), to: &writer)
    }

    private static func varint(_ number: Int32, _ value: UInt64, to writer: inout WireWriter) {
        guard value != 0 else { return }
        writer.tag(number, wireType: 0)
        writer.varint(value)
    }
}
