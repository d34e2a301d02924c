/// Enqueues unique tasks (``Uniqueness``) on one queue's stream, for ``Queue`` and for the command's enqueue of an
/// encoded body (``QueueHandle``): the lock taken by a conditional write, the task published on its key's subject.
struct UniqueEnqueue {
    let transport: any QueueTransport
    let layout: QueueLayout
    /// The stream's largest message, when it has a limit of its own.
    let streamLimit: Int?

    /// Stores `prepared` as a unique task: takes its key by a conditional write of a lock, replacing a lock that no
    /// longer holds, then publishes the task on `<its subject>.unique.<key token>` with the lock's sequence; returns
    /// the holder's receipt (or throws) when the key is taken. A task too large with its uniqueness headers is
    /// refused before it takes the key.
    func send(
        _ prepared: PreparedMessage, _ unique: Uniqueness, maxPayload: Int
    ) async throws(ProtoqueueError) -> EnqueueReceipt {
        try TaskEnvelope.checkSize(
            Self.uniqueTask(prepared, unique: unique, lock: .max), maxPayload: maxPayload, streamLimit: streamLimit,
            stream: layout.streamName)
        let token = UniqueLock.token(unique.key)
        let lockSubject = layout.uniqueLockSubject(token)
        var expected: UInt64 = 0
        // Each round loses only to a writer that changed the lock meanwhile: a few rounds at most under contention.
        for _ in 0..<10 {
            let lock = UniqueLock(
                key: unique.key, scope: unique.scope, taskID: prepared.id,
                lockedAt: transport.scheduleClockMilliseconds())
            do throws(ProtoqueueError) {
                let receipt = try await transport.publish(
                    PreparedMessage(
                        subject: lockSubject, headers: lock.headers(expectingLast: expected), body: [],
                        id: prepared.id),
                    maxAttempts: 3)
                if expected != 0 {
                    _ = try? await transport.deleteMessage(
                        stream: layout.streamName, sequence: expected, operation: "remove a stale unique-key lock")
                }
                return try await transport.publish(
                    Self.uniqueTask(prepared, unique: unique, lock: receipt.sequence), maxAttempts: 3)
            } catch  where error.code == .conflict {
                guard
                    let stored = try await transport.lastMessage(
                        stream: layout.streamName, subject: lockSubject, operation: "read unique-key lock")
                else {
                    expected = 0
                    continue
                }
                let held = try UniqueLock(decoding: stored)
                if held.taskID == prepared.id {
                    // This task's own lock, from an earlier call that did not finish.
                    return try await transport.publish(
                        Self.uniqueTask(prepared, unique: unique, lock: held.sequence), maxAttempts: 3)
                }
                let now = transport.scheduleClockMilliseconds()
                let waiting = held.dependsOnTask(now: now) ? try await waitingTasks(token) : nil
                guard held.holds(now: now, taskExists: waiting?.isEmpty == false) else {
                    expected = held.sequence
                    continue
                }
                return try await duplicate(of: held, unique: unique, waiting: waiting)
            }
        }
        throw ProtoqueueError(
            .conflict, "enqueue unique task \(prepared.id): other producers kept changing key \"\(unique.key)\"")
    }

    /// The task of a key taken by the lock at sequence `lock`: on `<its subject>.unique.<key token>`, with the
    /// uniqueness headers.
    private static func uniqueTask(_ prepared: PreparedMessage, unique: Uniqueness, lock: UInt64) -> PreparedMessage {
        PreparedMessage(
            subject: "\(prepared.subject).unique.\(UniqueLock.token(unique.key))",
            headers: prepared.headers + [
                (WireFormat.uniqueKeyHeader, unique.key), (WireFormat.uniqueScopeHeader, unique.scope.description),
                (WireFormat.uniqueLockHeader, String(lock)),
            ],
            body: prepared.body, id: prepared.id)
    }

    /// The subjects holding tasks of the key `token`, with their counts.
    private func waitingTasks(_ token: String) async throws(ProtoqueueError) -> [String: UInt64] {
        try await transport.subjectCounts(
            stream: layout.streamName, filter: layout.uniqueTaskFilter(token), operation: "read unique tasks")
    }

    /// The receipt of the task holding a key (its sequence when it is still in the stream, else 0), or the error the
    /// caller asked for. `waiting`: the key's task subjects when they were read already.
    private func duplicate(
        of held: UniqueLock, unique: Uniqueness, waiting: [String: UInt64]?
    ) async throws(ProtoqueueError) -> EnqueueReceipt {
        if unique.onDuplicate.fails {
            throw ProtoqueueError(
                .duplicate, "unique key \"\(unique.key)\" is taken by task \(held.taskID) (scope \(held.scope))")
        }
        var subjects = waiting
        // A lock taken moments ago may belong to a producer whose task is still on its way to the stream: look again
        // a few times (10, 20, 40 ms) before answering without a sequence.
        for pause in [0, 10, 20, 40] {
            if pause > 0 {
                guard held.isFresh(now: WallClock.unixMilliseconds()) else { break }
                try? await Task.sleep(for: .milliseconds(pause))
                subjects = nil
            }
            if subjects == nil { subjects = try await waitingTasks(UniqueLock.token(unique.key)) }
            for subject in (subjects ?? [:]).keys.sorted() {
                if let stored = try await transport.lastMessage(
                    stream: layout.streamName, subject: subject, operation: "read unique task")
                {
                    return EnqueueReceipt(
                        id: held.taskID, sequence: stored.sequence, duplicate: true, stream: layout.streamName)
                }
            }
        }
        return EnqueueReceipt(id: held.taskID, sequence: 0, duplicate: true, stream: layout.streamName)
    }
}
