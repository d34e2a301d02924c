import ProtoqueueSchema

/// The wire form of one task (wire format §2–3): its subject and headers around an encoded body. Shared by
/// ``Queue`` and the `protoqueue` command's `enqueue`, so both write the same.
enum TaskEnvelope {
    /// Validates and builds a task's message; nothing touches the network. The timing comes from `timing`:
    /// ``EnqueueOptions/notBefore``, ``EnqueueOptions/startBy``, ``EnqueueOptions/timeout`` and
    /// ``EnqueueOptions/priority`` (its id and metadata are not read).
    static func prepare(
        body: [UInt8], type: String, fingerprint: SchemaFingerprint?, id: TaskID, metadata: [String: String],
        headers extra: [String: String], timing: EnqueueOptions, priorities: Priorities, layout: QueueLayout
    ) throws(ProtoqueueError) -> PreparedMessage {
        try Validation.taskID(id.rawValue)
        let now = WallClock.unixMilliseconds()
        let due = try timing.notBefore.map { date throws(ProtoqueueError) in try EnqueueOptions.dueMilliseconds(date) }
        let deadline = try timing.startBy.map { date throws(ProtoqueueError) in try Deadline.milliseconds(date) }
        if let deadline { try Deadline.check(startBy: deadline, due: due) }
        let timeout = try timing.timeout.map { limit throws(ProtoqueueError) in try TaskTimeout.milliseconds(limit) }
        let tier = try priorities.tier(timing.priority)
        var headers: [(String, String)] = [
            (WireFormat.Header.messageID, id.rawValue),
            (WireFormat.Header.messageType, type),
            (WireFormat.Header.enqueuedAt, String(now)),
            (WireFormat.Header.version, WireFormat.version),
            (WireFormat.Header.contentType, WireFormat.contentType),
        ]
        if let fingerprint { headers.append((WireFormat.schemaHeader, fingerprint.rawValue)) }
        for key in metadata.keys.sorted() {
            let value = metadata[key]!
            try Validation.metadataKey(key)
            try Validation.metadataValue(value, key: key)
            headers.append((WireFormat.metadataPrefix + key, value))
        }
        for name in extra.keys.sorted() {
            let value = extra[name]!
            try Validation.extraHeader(name, value: value)
            headers.append((name, value))
        }
        var subject = layout.readySubject(tier: tier)
        if priorities.isTiered { headers.append((WireFormat.priorityHeader, tier)) }
        if let due, due > now {
            headers.append((WireFormat.notBeforeHeader, String(due)))
            subject = layout.scheduledSubject(tier: tier)
        }
        if let deadline { headers.append((WireFormat.startByHeader, String(deadline))) }
        if let timeout { headers.append((WireFormat.timeoutHeader, String(timeout))) }
        return PreparedMessage(subject: subject, headers: headers, body: body, id: id)
    }

    /// Refuses a message larger than the server's `max_payload` or the stream's maximum message size (`streamLimit`,
    /// when known; headers included), before it is sent.
    static func checkSize(
        _ prepared: PreparedMessage, maxPayload: Int, streamLimit: Int?, stream: String
    ) throws(ProtoqueueError) {
        let (id, size, body) = (prepared.id, prepared.totalSize, prepared.body.count)
        if size > maxPayload {
            throw ProtoqueueError(
                .payloadTooLarge,
                "task \(id) is \(size) bytes (body \(body) + headers \(size - body)), over the server's "
                    + "max_payload of \(maxPayload) bytes"
            )
        }
        if let streamLimit, size > streamLimit {
            throw ProtoqueueError(
                .payloadTooLarge,
                "task \(id) is \(size) bytes (body \(body) + headers \(size - body)), over stream "
                    + "\"\(stream)\"'s maximum message size of \(streamLimit) bytes"
            )
        }
    }
}
