import CNats
import Foundation
import Logging
import Synchronization

/// The connection's window for single publishes (enqueues, dead-letter replays, dead-letter records): any number of
/// publishes in flight at once, each decided by ``PublishAttempts``.
///
/// A publish goes out with the reply subject `<inbox>.<n>` (`natsConnection_PublishMsg` on the send-asap
/// connection, from the caller's thread: it only appends to nats.c's buffer and writes it); the server's
/// acknowledgement arrives on the window's inbox subscription, on nats.c's delivery thread, and names `n`. The
/// window's thread re-sends the messages whose acknowledgement is overdue (the same message: same `Nats-Msg-Id`)
/// or fails them, and sends again, after their pause, those no stream answered; it wakes at deadlines only (at least
/// once per ack timeout), never for a publish. Batches use the same decision on a window of their own (``BatchRun``).
final class PublishWindow: @unchecked Sendable {  // entries, nextIndex, finished, stopping guarded by lock
    typealias Completion = @Sendable (Result<EnqueueReceipt, ProtoqueueError>) -> Void

    private struct Entry {
        var attempts: PublishAttempts
        var message: OwnedMessage
        /// When its acknowledgement is overdue or, while `waiting`, when it is sent again.
        var deadline: UInt64
        var completion: Completion
        /// Not sent: waiting to be sent again after no stream answered.
        var waiting = false
    }

    private let raw: OpaquePointer  // natsConnection*, the send-asap one
    private let events: ConnectionEvents
    private let ackTimeout: UInt64
    /// `<inbox>.`, the prefix of every reply subject.
    private let prefix: [UInt8]
    private let subscription: OpaquePointer  // natsSubscription*, asynchronous, on "<inbox>.*"
    private let box: SubscriptionTarget<PublishWindow>

    private let lock = ConditionLock()
    private var entries: [Int: Entry] = [:]
    private var nextIndex = 0
    private var finished = false
    private var stopping = false
    private var threadDone = false

    /// Subscribes on a new inbox of the connection's send-asap connection and starts the window's thread.
    /// Blocks briefly: call on a library thread or where a short nats.c call is acceptable.
    init(connection: NATSClient) throws(ProtoqueueError) {
        raw = connection.rawConnection
        events = connection.events
        ackTimeout = UInt64(max(1, connection.configuration.requestTimeout.nanoseconds))
        let name = try NATSInbox.makeName(for: "the publish acknowledgement inbox")
        prefix = Array(name.utf8) + [UInt8(ascii: ".")]
        let box = SubscriptionTarget<PublishWindow>()
        subscription = try NATSInbox.subscribe(
            raw, to: name + ".*", handler: windowAckHandler, closure: box.closure,
            purpose: "the publish acknowledgement inbox")
        self.box = box
        box.owner = self
        let thread = Thread { [self] in timeouts() }
        thread.name = "protoqueue-publish"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Publishes `prepared` until the server stores it or ``PublishAttempts`` gives up; `completion` is called
    /// once, on this thread when the publish fails at once, else on a library thread.
    /// - Parameter noStreamPatience: How long to send again while no stream answers the subject.
    func publish(
        _ prepared: PreparedMessage, maxAttempts: Int, noStreamPatience: Duration = PublishAttempts.noStreamPatience,
        completion: @escaping Completion
    ) {
        var attempts = PublishAttempts(
            id: prepared.id, subject: prepared.subject, maxAttempts: maxAttempts, noStreamPatience: noStreamPatience)
        guard
            let index = lock.withLock({ () -> Int? in
                if finished { return nil }
                defer { nextIndex += 1 }
                return nextIndex
            })
        else {
            return completion(.failure(attempts.closedError(sent: false)))
        }
        let message: OwnedMessage
        do throws(ProtoqueueError) {
            message = try prepared.makeMessage(reply: ReplySubject(prefix: prefix, token: index))
        } catch {
            return completion(.failure(error))
        }
        attempts.sending()
        send(index, Entry(attempts: attempts, message: message, deadline: 0, completion: completion))
    }

    /// Registers the entry (before sending: its acknowledgement may come at once) and sends its message.
    private func send(_ index: Int, _ entry: Entry) {
        var entry = entry
        entry.deadline = MonotonicClock.nanoseconds() + ackTimeout
        entry.waiting = false
        let accepted = lock.withLock { () -> Bool in
            // Once finish() has collected the unanswered entries, nothing is sent any more.
            if stopping { return false }
            entries[index] = entry
            return true
        }
        guard accepted else {
            entry.message.destroy()
            return entry.completion(.failure(entry.attempts.closedError(sent: entry.attempts.attempt > 1)))
        }
        let status = natsConnection_PublishMsg(raw, entry.message.pointer)
        guard status != NATS_OK else { return }
        if let failed = lock.withLock({ entries.removeValue(forKey: index) }) {
            failed.message.destroy()
            failed.completion(.failure(failed.attempts.refused(status)))
        }
    }

    /// Applies ``PublishAttempts``' decision to an answer about the entry at `index` (already removed).
    private func advance(_ index: Int, _ entry: Entry, after event: PublishEvent) {
        var entry = entry
        let now = MonotonicClock.nanoseconds()
        switch entry.attempts.next(after: event, events: events, now: now) {
        case .resendAfter(let pause):
            events.logger.debug(
                "no stream answered the publish; sending it again shortly",
                metadata: [
                    "protoqueue.task_id": "\(entry.attempts.id)", "protoqueue.subject": "\(entry.attempts.subject)",
                ]
            )
            entry.waiting = true
            entry.deadline = now + pause
            let parked = lock.withLock { () -> Bool in
                if stopping { return false }
                entries[index] = entry
                // The window's thread may be waiting for a later deadline.
                lock.broadcast()
                return true
            }
            if !parked {
                entry.message.destroy()
                entry.completion(.failure(entry.attempts.closedError(sent: true)))
            }
        case .resend:
            events.logger.debug(
                "publish acknowledgement timed out; sending again with the same id",
                metadata: [
                    "protoqueue.task_id": "\(entry.attempts.id)", "protoqueue.attempt": "\(entry.attempts.attempt + 1)",
                ]
            )
            var again = entry
            again.attempts.sending()
            send(index, again)
        case .stored(let receipt):
            entry.message.destroy()
            entry.completion(.success(receipt))
        case .failed(let error):
            entry.message.destroy()
            entry.completion(.failure(error))
        }
    }

    /// An acknowledgement on the inbox (nats.c's delivery thread). Late ones (of an entry already settled) are
    /// dropped.
    fileprivate func received(_ message: OpaquePointer) {
        defer { natsMsg_Destroy(message) }
        guard let index = AcknowledgementInbox.position(of: message, prefix: prefix),
            let entry = lock.withLock({ removed(index) })
        else { return }
        guard let event = PublishAttempts.event(ofAcknowledgement: message) else {
            entry.message.destroy()
            return entry.completion(.failure(entry.attempts.unreadable(message)))
        }
        advance(index, entry, after: event)
    }

    /// Removes and returns the entry at `index`; wakes ``finish(waitFor:retiringWith:)`` when the last one goes.
    /// Call under the lock.
    private func removed(_ index: Int) -> Entry? {
        let entry = entries.removeValue(forKey: index)
        if entries.isEmpty && finished { lock.broadcast() }
        return entry
    }

    /// Fails every publish in flight to the violating subject at once, instead of letting it time out.
    func permissionViolation(_ violation: PermissionViolation) {
        guard violation.kind == .publish, let subject = violation.subject else { return }
        let denied = lock.withLock { () -> [(Int, Entry)] in
            let keys = entries.filter { $0.value.attempts.subject == subject }.map(\.key)
            return keys.compactMap { key in removed(key).map { (key, $0) } }
        }
        for (index, entry) in denied { advance(index, entry, after: .permissionDenied(violation)) }
    }

    /// The window's thread: re-sends or fails the entries whose acknowledgement is overdue.
    private func timeouts() {
        lock.lock()
        while !stopping {
            let now = MonotonicClock.nanoseconds()
            let due = entries.filter { $0.value.deadline <= now }.map(\.key)
            if due.isEmpty {
                // A new entry's deadline is an ack timeout away, so without entries a look every ack timeout is
                // soon enough: publishing never wakes this thread.
                _ = lock.wait(untilNanoseconds: entries.values.lazy.map(\.deadline).min() ?? now + ackTimeout)
                continue
            }
            let overdue = due.compactMap { key in removed(key).map { (key, $0) } }
            lock.unlock()
            for (index, entry) in overdue {
                if entry.waiting {
                    var again = entry
                    again.attempts.sending()
                    send(index, again)
                } else {
                    advance(index, entry, after: .failed(status: NATS_TIMEOUT, jsCode: 0, text: "no acknowledgement"))
                }
            }
            lock.lock()
        }
        threadDone = true
        lock.broadcast()
        lock.unlock()
    }

    /// Refuses new publishes, waits for the ones in flight (at most `timeout`), fails those still unanswered,
    /// ends the thread and unsubscribes (`owner` frees the subscription later: late acknowledgements may still
    /// arrive). Runs on a library thread. Idempotent.
    func finish(waitFor timeout: Duration, retiringWith owner: NATSClient) {
        let deadline = MonotonicClock.nanoseconds() + UInt64(max(0, timeout.nanoseconds))
        let unanswered = lock.withLock { () -> [Entry]? in
            if finished { return nil }
            finished = true
            while !entries.isEmpty, lock.wait(untilNanoseconds: deadline) {}
            defer { entries.removeAll() }
            stopping = true
            lock.broadcast()
            while !threadDone { lock.wait() }
            return Array(entries.values)
        }
        guard let unanswered else { return }
        for entry in unanswered {
            entry.message.destroy()
            entry.completion(.failure(entry.attempts.closedError(sent: true)))
        }
        box.owner = nil
        owner.retire(subscription)
    }
}

private let windowAckHandler: natsMsgHandler = { _, _, message, closure in
    guard let message else { return }
    guard let window = SubscriptionTarget<PublishWindow>.owner(of: closure) else {
        natsMsg_Destroy(message)
        return
    }
    window.received(message)
}
