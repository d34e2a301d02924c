public import Foundation
import Logging

/// A declared schedule as ``Queue/schedules()`` reads it.
public struct DeclaredSchedule<Message: ProtoqueueMessage>: Sendable {
    /// The schedule.
    public var schedule: TaskSchedule
    /// The task each tick enqueues; `nil` when the record holds another type or bytes that do not decode.
    public var task: Message?
    /// The metadata each tick's task carries.
    public var metadata: [String: String]
    /// The last tick handled: enqueued, skipped or caught up (the declaration time before the first tick).
    public var lastTick: Date
    /// The next tick, `nil` when the timing has none.
    public var nextTick: Date?
}

extension Queue {
    /// Declares a schedule that enqueues `task` at each tick, or updates the declared one of the same name.
    ///
    /// The declaration is kept on the server: declaring the same schedule again, from any number of instances,
    /// changes nothing; a different timing, policy, task or metadata replaces it. Workers of the queue
    /// (``process(options:handler:)``, ``QueueWorker``) fire the ticks (``ProcessOptions/firesSchedules``). The first
    /// tick is the first after the declaration: earlier ones are not caught up.
    /// - Parameters:
    ///   - schedule: Name, timing and policies.
    ///   - task: The task enqueued at each tick, with the id `<name>@<tick time in ISO 8601, UTC>`.
    ///   - metadata: Metadata for each tick's task (``EnqueueOptions/metadata``).
    /// - Returns: `true` when the schedule was created or changed, `false` when it was declared already as it is.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidName`` for a bad name,
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/invalidConfiguration`` for a bad interval or time zone,
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/invalidHeader`` for bad metadata; server errors as for enqueue.
    @discardableResult
    public func declareSchedule(
        _ schedule: TaskSchedule, task: Message, metadata: [String: String] = [:]
    ) async throws(ProtoqueueError) -> Bool {
        try Self.validate(schedule, metadata: metadata)
        let store = ScheduleStore(transport: connection.transport, layout: layout)
        let body = try task.serializedBytes()
        // A writer that loses the conditional write reads the record again: at most a few rounds under contention.
        for _ in 0..<10 {
            let current = try await store.record(schedule.name)
            let now = connection.transport.scheduleClockMilliseconds()
            var next = ScheduleRecord(
                schedule: schedule, taskType: Message.protoMessageName, body: body, metadata: metadata, lastTick: now,
                updatedAt: now)
            if let current {
                if current.hasSameDefinition(as: next) { return false }
                // The same timing keeps its progress; another one starts after now.
                if current.schedule.timing == schedule.timing { next.lastTick = current.lastTick }
            }
            do throws(ProtoqueueError) {
                try await store.replace(current, with: next)
                ScheduleWakers.shared.wake(layout)
                logger.info(
                    current == nil ? "schedule declared" : "schedule changed",
                    metadata: ["protoqueue.schedule": "\(schedule.name)", "protoqueue.timing": "\(schedule.timing)"])
                return true
            } catch  where error.code == .conflict {
                continue
            }
        }
        throw ProtoqueueError(
            .conflict, "declare schedule \"\(schedule.name)\": other writers kept changing it; try again")
    }

    /// The schedules declared on the queue, by name.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidHeader`` for a record that does not read as a
    ///   schedule; server errors as for ``stats()``.
    public func schedules() async throws(ProtoqueueError) -> [DeclaredSchedule<Message>] {
        try await handle.schedules().map { entry in
            DeclaredSchedule(
                schedule: entry.schedule,
                task: entry.taskType == Message.protoMessageName ? try? Message(serializedBytes: entry.body) : nil,
                metadata: entry.metadata, lastTick: entry.lastTick, nextTick: entry.nextTick)
        }
    }

    /// Removes a declared schedule. A worker reads the schedule again before waiting for each tick, so at most a tick
    /// already waited for (within one interval, or 10 s) is enqueued afterwards. Tasks already enqueued stay.
    /// - Parameter name: The schedule's name.
    /// - Returns: `false` when no schedule of that name was declared.
    @discardableResult
    public func removeSchedule(named name: String) async throws(ProtoqueueError) -> Bool {
        try Validation.scheduleName(name)
        let removed = try await ScheduleStore(transport: connection.transport, layout: layout).remove(name)
        if removed { logger.info("schedule removed", metadata: ["protoqueue.schedule": "\(name)"]) }
        return removed
    }

    /// Refuses a schedule that cannot be declared.
    static func validate(_ schedule: TaskSchedule, metadata: [String: String]) throws(ProtoqueueError) {
        try Validation.scheduleName(schedule.name)
        try schedule.timing.validate()
        for (key, value) in metadata {
            try Validation.metadataKey(key)
            try Validation.metadataValue(value, key: key)
        }
    }
}

extension Validation {
    /// A schedule name: 1–64 characters of `A–Z a–z 0–9 - _`.
    static func scheduleName(_ name: String) throws(ProtoqueueError) {
        let allowed = name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
        }
        guard !name.isEmpty, name.unicodeScalars.count <= 64, allowed else {
            throw ProtoqueueError(
                .invalidName, "schedule name \"\(name)\" must be 1-64 characters of A-Z a-z 0-9 - _")
        }
    }
}
