import Foundation

extension WireFormat {
    /// On a unique task: its uniqueness key.
    public static let uniqueKeyHeader = "Protoqueue-Unique-Key"
    /// On a unique task and its lock: `untilStarted`, `untilFinished` or `for:<milliseconds>`.
    public static let uniqueScopeHeader = "Protoqueue-Unique-Scope"
    /// On a unique task: the stream sequence of the lock that took its key, which a worker deletes to free the key.
    public static let uniqueLockHeader = "Protoqueue-Unique-Lock"
}

/// The message that takes a uniqueness key: the last message on `<subject>.control.unique.<key token>`, published on
/// condition that the subject had none (or still had the stale lock it replaces), so one producer of many wins.
/// Pure values; `UniqueLockTests` covers the headers and when a lock still holds.
struct UniqueLock: Sendable, Equatable {
    enum Header {
        static let taskID = "Protoqueue-Task-Id"
        static let lockedAt = "Protoqueue-Unique-Locked-At"
    }

    var key: String
    var scope: Uniqueness.Scope
    /// The task that holds the key.
    var taskID: TaskID
    /// When the key was taken, Unix ms (the producer's clock).
    var lockedAt: Int64
    /// Its stream sequence; 0 before it is stored.
    var sequence: UInt64 = 0

    /// How long a lock of a task-bound scope holds without its task in the stream: the time its producer has to
    /// store the task after taking the key.
    static let grace: Int64 = 30_000
    /// How long after taking a lock its producer may still be publishing the task.
    static let publishing: Int64 = 1_000

    /// Whether the lock was taken less than ``publishing`` ago, at `now` (Unix ms): its task may not be stored yet.
    func isFresh(now: Int64) -> Bool { now - lockedAt < Self.publishing }

    /// The subject token for `key`: its UTF-8 bytes in unpadded base64url (RFC 4648 §5).
    static func token(_ key: String) -> String {
        Data(key.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The lock's headers, `Nats-Expected-Last-Subject-Sequence` and its own `Nats-Msg-Id` included (a resend by the
    /// same producer is a duplicate, not a conflict).
    func headers(expectingLast expected: UInt64) -> [(String, String)] {
        [
            (WireFormat.Header.messageID, "unique:\(Self.token(key)):\(taskID)"),
            (WireFormat.uniqueKeyHeader, key),
            (WireFormat.uniqueScopeHeader, scope.description),
            (Header.taskID, taskID.rawValue),
            (Header.lockedAt, String(lockedAt)),
            (WireFormat.expectedLastSubjectSequenceHeader, String(expected)),
        ]
    }

    /// Whether the lock still holds the key at `now`: for a duration, until it ends; otherwise while its task is in
    /// the stream (`taskExists`), or for ``grace`` after the key was taken (the task may not be stored yet).
    func holds(now: Int64, taskExists: Bool) -> Bool {
        switch scope.kind {
        case .duration(let milliseconds): now < lockedAt + milliseconds
        case .untilStarted, .untilFinished: taskExists || now - lockedAt < Self.grace
        }
    }

    /// Whether ``holds(now:taskExists:)`` depends on whether the task is in the stream.
    func dependsOnTask(now: Int64) -> Bool {
        if case .duration = scope.kind { return false }
        return now - lockedAt >= Self.grace
    }

    /// Reads a stored lock.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidHeader`` naming the header that is missing or wrong.
    init(decoding stored: StoredMessage) throws(ProtoqueueError) {
        let headers = stored.firstHeaderValues
        func bad(_ name: String) -> ProtoqueueError {
            ProtoqueueError(
                .invalidHeader,
                "the unique-key lock at sequence \(stored.sequence) (\(stored.subject)) has no valid \(name) header")
        }
        guard let key = headers[WireFormat.uniqueKeyHeader] else { throw bad(WireFormat.uniqueKeyHeader) }
        guard let scope = headers[WireFormat.uniqueScopeHeader].flatMap(Uniqueness.Scope.init(header:)) else {
            throw bad(WireFormat.uniqueScopeHeader)
        }
        guard let taskID = headers[Header.taskID] else { throw bad(Header.taskID) }
        guard let lockedAt = headers[Header.lockedAt].flatMap({ Int64($0) }) else { throw bad(Header.lockedAt) }
        self.init(key: key, scope: scope, taskID: TaskID(taskID), lockedAt: lockedAt)
        sequence = stored.sequence
    }

    init(key: String, scope: Uniqueness.Scope, taskID: TaskID, lockedAt: Int64) {
        self.key = key
        self.scope = scope
        self.taskID = taskID
        self.lockedAt = lockedAt
    }

    /// Whether a worker frees the key of a task with `scope` when it starts the task (`untilStarted`) or, for
    /// `untilFinished`, once its settlement is final (acknowledged, dead-lettered or discarded; not a retry).
    static func frees(_ scope: Uniqueness.Scope?, atStart: Bool, settlement: Settlement? = nil) -> Bool {
        switch (scope?.kind, atStart, settlement) {
        case (.untilStarted, true, _): true
        case (.untilFinished, false, .ack), (.untilFinished, false, .deadLetter), (.untilFinished, false, .discard):
            true
        default: false
        }
    }
}
