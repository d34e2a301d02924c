import ProtoqueueSchema

/// Writes ``TaskEventBatch`` messages straight to protobuf bytes, event by event, up to a size limit: the bytes the
/// generated encoder writes for the same events (`TaskEventBatchWriterTests` compares them), without building
/// protobuf-c structures on the way. Events carry no unknown fields (``QueueEvents`` makes them), so none are written.
/// A string holding U+0000, which the generated encoder refuses, is written as it is.
struct TaskEventBatchWriter {
    private var batch = WireWriter()
    private var event = WireWriter()
    /// Events in the batch so far.
    private(set) var count = 0

    /// Adds `event` when the batch is empty or stays within `limit` bytes with it.
    /// - Returns: Whether it was added.
    mutating func append(_ taskEvent: TaskEvent, limit: Int) -> Bool {
        event.bytes.removeAll(keepingCapacity: true)
        Self.write(taskEvent, to: &event)
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

    /// `event`'s fields in field-number order, those at their default value left out (proto3).
    private static func write(_ event: TaskEvent, to writer: inout WireWriter) {
        if event.kind.rawValue != 0 {
            writer.tag(1, wireType: 0)
            // An enum is an int32: a negative value takes ten bytes, sign-extended.
            writer.varint(UInt64(bitPattern: Int64(event.kind.rawValue)))
        }
        if !event.queue.isEmpty { writer.string(2, event.queue) }
        if !event.taskType.isEmpty { writer.string(3, event.taskType) }
        if !event.taskID.isEmpty { writer.string(4, event.taskID) }
        varint(5, event.sequence, to: &writer)
        varint(6, UInt64(event.attempt), to: &writer)
        varint(7, UInt64(bitPattern: event.timeUnixMs), to: &writer)
        varint(8, event.retryDelayMs, to: &writer)
        if !event.reason.isEmpty { writer.string(9, event.reason) }
        if !event.error.isEmpty { writer.string(10, event.error) }
        varint(11, event.runTimeUs, to: &writer)
        varint(12, UInt64(bitPattern: event.pausedUntilUnixMs), to: &writer)
    }

    private static func varint(_ number: Int32, _ value: UInt64, to writer: inout WireWriter) {
        guard value != 0 else { return }
        writer.tag(number, wireType: 0)
        writer.varint(value)
    }
}
