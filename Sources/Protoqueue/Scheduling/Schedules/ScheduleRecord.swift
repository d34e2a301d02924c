import Foundation

extension WireFormat {
    /// On a schedule's tick task: the schedule's name.
    public static let scheduleHeader = "Protoqueue-Schedule"
    /// On a schedule's tick task: the tick's time, Unix milliseconds.
    public static let tickHeader = "Protoqueue-Tick"
}

/// A declared schedule as the server keeps it: the last message on `<subject>.control.schedules.<name>`, holding the
/// definition, the task to enqueue (body and headers) and how far its ticks were handled. Every change is a new
/// message published on condition that the subject's last message is still the one read
/// (`Nats-Expected-Last-Subject-Sequence`), so concurrent writers never both win. Pure values; `ScheduleRecordTests`
/// covers the headers.
struct ScheduleRecord: Sendable, Equatable {
    enum Header {
        static let timing = "Protoqueue-Schedule-Timing"
        static let timeZone = "Protoqueue-Schedule-Time-Zone"
        static let missedTicks = "Protoqueue-Schedule-Missed-Ticks"
        static let overlap = "Protoqueue-Schedule-Overlap"
        static let lastTick = "Protoqueue-Schedule-Last-Tick"
        static let catchUp = "Protoqueue-Schedule-Catch-Up"
        static let updatedAt = "Protoqueue-Schedule-Updated-At"
    }

    var schedule: TaskSchedule
    /// `Protoqueue-Type` of the task.
    var taskType: String
    /// The task's protobuf bytes.
    var body: [UInt8]
    /// The task's metadata (`Protoqueue-Meta-*`).
    var metadata: [String: String]
    /// The last tick handled (enqueued, skipped or caught up), Unix ms.
    var lastTick: Int64
    /// On the record that claimed it: the tick whose task stands for missed ticks
    /// (``TaskSchedule/MissedTicks/runOnce``).
    var catchUp: Int64?
    /// When the record was written, Unix ms (the writer's clock).
    var updatedAt: Int64
    /// Its stream sequence; 0 before it is stored.
    var sequence: UInt64 = 0

    /// Whether `other` declares the same schedule and task (progress aside).
    func hasSameDefinition(as other: ScheduleRecord) -> Bool {
        schedule == other.schedule && taskType == other.taskType && body == other.body && metadata == other.metadata
    }

    /// The record's headers, `Nats-Expected-Last-Subject-Sequence` included.
    func headers(expectingLast expected: UInt64) -> [(String, String)] {
        var headers: [(String, String)] = [
            (WireFormat.scheduleHeader, schedule.name),
            (Header.timing, schedule.timing.description),
        ]
        if let zone = schedule.timing.timeZone { headers.append((Header.timeZone, zone.identifier)) }
        headers += [
            (Header.missedTicks, schedule.missedTicks.description),
            (Header.overlap, schedule.overlap.description),
            (Header.lastTick, String(lastTick)),
        ]
        if let catchUp { headers.append((Header.catchUp, String(catchUp))) }
        headers += [(Header.updatedAt, String(updatedAt))] + taskHeaders
        headers.append((WireFormat.expectedLastSubjectSequenceHeader, String(expected)))
        return headers
    }

    /// The headers every tick task shares: type, version, content type, metadata.
    private var taskHeaders: [(String, String)] {
        [
            (WireFormat.Header.messageType, taskType),
            (WireFormat.Header.version, WireFormat.version),
            (WireFormat.Header.contentType, WireFormat.contentType),
        ] + metadata.keys.sorted().map { (WireFormat.metadataPrefix + $0, metadata[$0]!) }
    }

    /// The id of the task of `tick` (Unix ms): `<name>@<tick in ISO 8601, UTC>`.
    func taskID(tick: Int64) -> TaskID {
        let date = Date(timeIntervalSince1970: Double(tick) / 1000)
        return TaskID("\(schedule.name)@\(date.formatted(.iso8601))")
    }

    /// The task of `tick`, enqueued at `now` (both Unix ms), on `<subject>.ready.default.schedule.<name>`.
    func task(tick: Int64, now: Int64, layout: QueueLayout) -> PreparedMessage {
        let id = taskID(tick: tick)
        let headers =
            [(WireFormat.Header.messageID, id.rawValue), (WireFormat.Header.enqueuedAt, String(now))] + taskHeaders
            + [(WireFormat.scheduleHeader, schedule.name), (WireFormat.tickHeader, String(tick))]
        return PreparedMessage(
            subject: layout.scheduleTaskSubject(schedule.name), headers: headers, body: body, id: id)
    }

    /// Reads a stored record.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidHeader`` naming the header that is missing or wrong.
    init(decoding stored: StoredMessage) throws(ProtoqueueError) {
        let headers = stored.firstHeaderValues
        func bad(_ name: String) -> ProtoqueueError {
            ProtoqueueError(
                .invalidHeader,
                "the schedule record at sequence \(stored.sequence) (\(stored.subject)) has no valid \(name) header: "
                    + "\"\(headers[name] ?? "")\"")
        }
        func number(_ name: String) throws(ProtoqueueError) -> Int64 {
            guard let value = headers[name].flatMap({ Int64($0) }) else { throw bad(name) }
            return value
        }
        guard let name = headers[WireFormat.scheduleHeader] else { throw bad(WireFormat.scheduleHeader) }
        guard
            let timing = headers[Header.timing].flatMap({
                ScheduleTiming(timing: $0, timeZone: headers[Header.timeZone])
            })
        else { throw bad(Header.timing) }
        guard let missed = headers[Header.missedTicks].flatMap(TaskSchedule.MissedTicks.init(header:)) else {
            throw bad(Header.missedTicks)
        }
        guard let overlap = headers[Header.overlap].flatMap(TaskSchedule.Overlap.init(header:)) else {
            throw bad(Header.overlap)
        }
        guard let taskType = headers[WireFormat.Header.messageType] else { throw bad(WireFormat.Header.messageType) }
        schedule = TaskSchedule(name: name, timing: timing, missedTicks: missed, overlap: overlap)
        self.taskType = taskType
        body = stored.body
        var metadata: [String: String] = [:]
        for (key, value) in headers where key.hasPrefix(WireFormat.metadataPrefix) {
            metadata[String(key.dropFirst(WireFormat.metadataPrefix.count))] = value
        }
        self.metadata = metadata
        lastTick = try number(Header.lastTick)
        catchUp = headers[Header.catchUp] == nil ? nil : try number(Header.catchUp)
        updatedAt = try number(Header.updatedAt)
        sequence = stored.sequence
    }

    /// A new record.
    init(
        schedule: TaskSchedule, taskType: String, body: [UInt8], metadata: [String: String], lastTick: Int64,
        updatedAt: Int64
    ) {
        self.schedule = schedule
        self.taskType = taskType
        self.body = body
        self.metadata = metadata
        self.lastTick = lastTick
        catchUp = nil
        self.updatedAt = updatedAt
    }
}
