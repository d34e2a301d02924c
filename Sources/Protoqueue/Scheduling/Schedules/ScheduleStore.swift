/// Reads and writes a queue's schedule records (``ScheduleRecord``) on `<subject>.control.schedules.<name>`.
struct ScheduleStore: Sendable {
    let transport: any QueueTransport
    let layout: QueueLayout

    /// The names of the declared schedules, sorted.
    func names() async throws(ProtoqueueError) -> [String] {
        try await transport.lastTokens(
            stream: layout.streamName, filter: layout.scheduleRecordFilter, operation: "list schedules"
        ).sorted()
    }

    /// The record of schedule `name`, or `nil` when none is declared.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidHeader`` for a record that does not read as one.
    func record(_ name: String) async throws(ProtoqueueError) -> ScheduleRecord? {
        let stored = try await transport.lastMessage(
            stream: layout.streamName, subject: layout.scheduleRecordSubject(name),
            operation: "read schedule \"\(name)\"")
        return try stored.map { stored throws(ProtoqueueError) in try ScheduleRecord(decoding: stored) }
    }

    /// Stores `next` in place of `current` (`nil`: the schedule has no record), on condition that `current` is still
    /// the last message of the schedule's subject; then deletes `current`.
    /// - Returns: `next` with its sequence.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/conflict`` when another writer changed the record first.
    @discardableResult
    func replace(_ current: ScheduleRecord?, with next: ScheduleRecord) async throws(ProtoqueueError) -> ScheduleRecord
    {
        let name = next.schedule.name
        let prepared = PreparedMessage(
            subject: layout.scheduleRecordSubject(name), headers: next.headers(expectingLast: current?.sequence ?? 0),
            body: next.body, id: TaskID("schedule:\(name)"))
        let receipt = try await transport.publish(prepared, maxAttempts: 1)
        if let current {
            // A leftover older record is harmless (the last message is the record); the next write removes it.
            _ = try? await transport.deleteMessage(
                stream: layout.streamName, sequence: current.sequence, operation: "remove an old schedule record")
        }
        var stored = next
        stored.sequence = receipt.sequence
        return stored
    }

    /// Removes schedule `name`'s record; `false` when it had none.
    func remove(_ name: String) async throws(ProtoqueueError) -> Bool {
        guard try await record(name) != nil else { return false }
        try await transport.purge(
            stream: layout.streamName, subject: layout.scheduleRecordSubject(name),
            operation: "remove schedule \"\(name)\"")
        return true
    }
}
