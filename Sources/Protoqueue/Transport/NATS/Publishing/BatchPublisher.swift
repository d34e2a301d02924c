import CNats
import Synchronization

/// Drives one batch on a thread of its own, without a lock or a lookup table on the way of an acknowledgement.
///
/// Each task is published (`natsConnection_PublishMsg`) on the connection's ``BatchedConnection``, so that nats.c
/// writes the tasks to the socket in runs rather than one write each, with the reply subject `<inbox>.<position>` on
/// a subscription of the batch's own (``AcknowledgementInbox``), which this thread reads: the server's acknowledgement
/// names the task's position, so the window is a plain ring of slots. At most `window` tasks are outstanding; a task
/// whose acknowledgement does not come within the ack timeout is sent again from this thread (the same message, so
/// the same id, which the server stores once), as is, after a pause, one that no stream answered; results are
/// reported strictly in input order.
final class BatchRun: @unchecked Sendable {  // used by the one batch thread only
    typealias Input = BatchInput
    typealias Output = BatchOutput

    /// A task sent and not yet acknowledged.
    private struct Pending {
        var attempts: PublishAttempts
        var message: OwnedMessage
        /// When its acknowledgement is overdue or, while `waiting`, when it is sent again.
        var deadline: UInt64
        /// Not sent: waiting to be sent again after no stream answered.
        var waiting = false
        /// The order of its latest send among the batch's sends.
        var sendOrder = 0

        var subject: String { attempts.subject }
        /// What failed, for error messages.
        var operation: String { attempts.operation }
    }

    private enum Slot {
        case free
        case pending(Pending)
        case done(Result<EnqueueReceipt, ProtoqueueError>)
    }

    /// Tasks started between two looks at the acknowledgements received.
    private static let burst = 64
    /// Messages freed together (see ``freeReleased()``).
    private static let freeBurst = 1_024
    /// The longest wait for acknowledgements before the driver looks at the connection again.
    private static let pollLimit: UInt64 = 100_000_000

    private let connection: NATSClient
    /// The `natsConnection*` the tasks and their acknowledgements travel on (the batched one), set by ``run``.
    private var transport: OpaquePointer?
    private let window: Int
    /// How many acknowledgements wake a driver that waits (fewer if fewer are pending): one wake per run of
    /// acknowledgements, not one per acknowledgement.
    private let refill: Int
    private let ackTimeout: UInt64  // nanoseconds
    private let maxAttempts: Int
    private var slots: [Slot]
    private var emitBase = 0
    private var nextIndex = 0
    private var pendingCount = 0
    private var summary = BatchSummary()
    private var denied: [String: PermissionViolation] = [:]
    /// Subjects a task gave up on after no stream answered for its whole patience: later tasks to them fail unsent.
    private var noStream: Set<String> = []
    /// No pending task's deadline is earlier than this (it may be earlier than every actual deadline).
    private var nextDeadline = UInt64.max
    /// Set when the acknowledgement subscription has ended: pending and later tasks fail with it.
    private var lostError: ProtoqueueError?
    private let started = MonotonicClock.nanoseconds()
    /// Messages done with, freed together by ``freeReleased()``.
    private var released: [OwnedMessage] = []
    /// Sends so far (``Pending/sendOrder``).
    private var sends = 0

    init(connection: NATSClient, options: BatchOptions) {
        self.connection = connection
        self.window = max(1, options.window)
        self.refill = max(1, min(256, self.window / 8))
        self.ackTimeout =
            UInt64((options.ackTimeout ?? connection.configuration.requestTimeout).milliseconds) * 1_000_000
        self.maxAttempts = max(1, options.maxAttempts)
        self.slots = Array(repeating: .free, count: self.window)
    }

    /// Runs the batch to completion on the calling (library-owned) thread.
    func run(source: () -> Input?, sink: (Output) -> Void) throws(ProtoqueueError) -> BatchSummary {
        let batched = try connection.batchedConnection()
        transport = batched.raw
        let inbox = try AcknowledgementInbox(connection: batched.raw)
        // Violations are looked for between turns: a turn waits at most pollLimit.
        var violationsSeen = connection.events.violationsReported
        defer {
            inbox.close(retiringWith: connection)
            freeReleased()
        }
        var received: [OwnedMessage] = []
        var sourceDone = false
        while true {
            inbox.take(into: &received, wakeAt: 0, deadline: 0)
            settle(&received, inbox: inbox)
            emitReady(sink)
            if connection.events.violationsReported != violationsSeen {
                let reported = connection.events.violationsReported
                for violation in connection.events.violations(after: violationsSeen) { failDenied(violation) }
                violationsSeen = reported
            }
            var now = MonotonicClock.nanoseconds()
            if now >= nextDeadline { expire(now: now) }
            var startedNow = 0
            let closing = connection.isClosing
            while !sourceDone && nextIndex - emitBase < window && startedNow < Self.burst {
                if let input = source() {
                    start(input, inbox: inbox, now: now, closing: closing)
                    startedNow += 1
                } else {
                    sourceDone = true
                }
            }
            if startedNow > 0 { continue }
            if emitBase == nextIndex {
                if sourceDone { break }
                continue
            }
            if case .done = slots[emitBase % window] { continue }
            // About to wait for acknowledgements: what this batch buffered must leave now, not within the
            // flusher's millisecond (a small window would otherwise wait for it on every turn).
            batched.requestWrite()
            now = MonotonicClock.nanoseconds()
            inbox.take(
                into: &received, wakeAt: max(1, min(refill, pendingCount)),
                deadline: min(nextDeadline, now + Self.pollLimit))
            settle(&received, inbox: inbox)
        }
        return summary
    }

    /// Numbers the input, and publishes it unless it already failed.
    /// `closing`: whether the connection was closing when this burst of tasks began.
    private func start(_ input: consuming Input, inbox: AcknowledgementInbox, now: UInt64, closing: Bool) {
        let index = nextIndex
        nextIndex += 1
        summary.total += 1
        if let lostError { return complete(index, .failure(lostError)) }
        if closing {
            return complete(
                index,
                .failure(
                    ProtoqueueError(
                        .connectionClosed,
                        "the connection was closed while the batch was running; the task was not sent")))
        }
        let prepared: PreparedMessage
        switch input.prepared {
        case .failure(let error): return complete(index, .failure(error))
        case .success(let value): prepared = value
        }
        if !denied.isEmpty, let violation = denied[prepared.subject] {
            return complete(
                index,
                .failure(
                    NATSErrorMapping.permissionDenied(
                        operation: "publish task \(prepared.id) to \"\(prepared.subject)\"", violation: violation)))
        }
        if !noStream.isEmpty, noStream.contains(prepared.subject) {
            return complete(index, .failure(Self.noStreamError(id: prepared.id, subject: prepared.subject)))
        }
        let message: OwnedMessage
        do throws(ProtoqueueError) {
            message = try prepared.makeMessage(reply: inbox.reply(for: index))
        } catch {
            return complete(index, .failure(error))
        }
        var attempts = PublishAttempts(
            id: prepared.id, subject: prepared.subject, maxAttempts: maxAttempts, since: started)
        attempts.sending()
        send(index, Pending(attempts: attempts, message: message, deadline: now + ackTimeout))
    }

    /// Publishes a task, or publishes a pending one again; a synchronous failure completes it.
    private func send(_ index: Int, _ pending: Pending) {
        var pending = pending
        pending.waiting = false
        pending.sendOrder = sends
        sends += 1
        let status = natsConnection_PublishMsg(transport, pending.message.pointer)
        guard status == NATS_OK else {
            release(pending.message)
            return complete(index, .failure(pending.attempts.refused(status)))
        }
        if case .pending = slots[index % window] {} else { pendingCount += 1 }
        slots[index % window] = .pending(pending)
        nextDeadline = min(nextDeadline, pending.deadline)
    }

    /// Queues a message to be freed with the others of this round (see ``freeReleased()``).
    private func release(_ message: OwnedMessage) { released.append(message) }

    /// Frees the released messages in one burst. nats.c frees a message on its garbage-collector thread and wakes
    /// that thread when its list was empty: freed one at a time between other work, nearly every message cost a
    /// wake-up (and a context switch); freed back to back, a burst costs about one.
    private func freeReleased() {
        for message in released { message.destroy() }
        released.removeAll(keepingCapacity: true)
    }

    /// Settles the tasks these acknowledgements name, and frees them. If the inbox's subscription has ended, no
    /// acknowledgement will come: every pending task fails, and so will the tasks that follow.
    private func settle(_ received: inout [OwnedMessage], inbox: AcknowledgementInbox) {
        for message in received { settle(message, inbox: inbox) }
        received.removeAll(keepingCapacity: true)
        for _ in 0..<inbox.takeNoStreamAnswers() { noStreamAnswered() }
        if released.count >= Self.freeBurst { freeReleased() }
        guard lostError == nil, let status = inbox.lost else { return }
        let error = ProtoqueueError(
            status == NATS_CONNECTION_CLOSED || connection.isClosing ? .connectionClosed : .natsError,
            "the batch's acknowledgement subscription ended (\(String(cString: natsStatus_GetText(status)))) "
                + "before the server acknowledged the task; it may or may not be stored, so enqueue it again with "
                + "the same id (deduplicated)"
        )
        lostError = error
        for index in emitBase..<nextIndex {
            if case .pending(let pending) = slots[index % window] {
                release(pending.message)
                complete(index, .failure(error))
            }
        }
    }

    /// Applies a "no responders" answer to the pending task sent earliest: the server answers the publishes to a
    /// subject in order, and nats.c does not say which one this answered. A wrong guess (publishes to several
    /// subjects) costs a re-send under the same id, or leaves the right task to its acknowledgement timeout.
    private func noStreamAnswered() {
        var earliest: (index: Int, pending: Pending)?
        for index in emitBase..<nextIndex {
            guard case .pending(let pending) = slots[index % window], !pending.waiting else { continue }
            if pending.sendOrder < earliest?.pending.sendOrder ?? Int.max { earliest = (index, pending) }
        }
        guard let earliest else { return }
        failed(earliest.index, earliest.pending, after: .failed(status: NATS_NO_RESPONDERS, jsCode: 0, text: nil))
    }

    /// Records the outcome an acknowledgement reports. Late acknowledgements (of a task already settled) are ignored.
    private func settle(_ message: OwnedMessage, inbox: AcknowledgementInbox) {
        defer { release(message) }
        guard let index = inbox.position(of: message), index >= emitBase, index < nextIndex,
            case .pending(let pending) = slots[index % window]
        else { return }
        switch PublishAttempts.event(ofAcknowledgement: message.pointer) {
        case .acknowledged(let stream, let sequence, let duplicate)?:
            release(pending.message)
            if duplicate { summary.duplicates += 1 }
            complete(
                index,
                .success(
                    EnqueueReceipt(id: pending.attempts.id, sequence: sequence, duplicate: duplicate, stream: stream)))
        case let event?:
            failed(index, pending, after: event)
        case nil:
            release(pending.message)
            complete(index, .failure(pending.attempts.unreadable(message.pointer)))
        }
    }

    /// Handles every pending task whose acknowledgement is overdue: a permission error already known, the closing
    /// connection, or what ``PublishAttempts`` decides (re-send, permission error, timeout).
    private func expire(now: UInt64) {
        var earliest = UInt64.max
        for index in emitBase..<nextIndex {
            guard case .pending(let pending) = slots[index % window] else { continue }
            if pending.deadline > now {
                earliest = min(earliest, pending.deadline)
                continue
            }
            if pending.waiting && denied[pending.subject] == nil && !connection.isClosing {
                sendAgain(index, pending, now: now)
                if case .pending(let sent) = slots[index % window] { earliest = min(earliest, sent.deadline) }
            } else if let violation = denied[pending.subject] {
                release(pending.message)
                complete(
                    index,
                    .failure(NATSErrorMapping.permissionDenied(operation: pending.operation, violation: violation)))
            } else if connection.isClosing {
                release(pending.message)
                complete(index, .failure(pending.attempts.closedError(sent: true)))
            } else {
                failed(
                    index, pending, after: .failed(status: NATS_TIMEOUT, jsCode: 0, text: "no acknowledgement"),
                    now: now)
                if case .pending(let again) = slots[index % window] { earliest = min(earliest, again.deadline) }
            }
        }
        nextDeadline = earliest
    }

    /// Applies ``PublishAttempts``' decision after the pending task at `index` failed (`event`): sends the same
    /// message again, or completes the task with the error.
    private func failed(
        _ index: Int, _ pending: Pending, after event: PublishEvent, now: UInt64 = MonotonicClock.nanoseconds()
    ) {
        var pending = pending
        switch pending.attempts.next(after: event, events: connection.events, now: now) {
        case .resendAfter(let pause):
            pending.waiting = true
            pending.deadline = now + pause
            slots[index % window] = .pending(pending)
            nextDeadline = min(nextDeadline, pending.deadline)
        case .resend:
            summary.resent += 1
            sendAgain(index, pending, now: now)
        case .failed(let error):
            release(pending.message)
            complete(index, .failure(error))
            if error.code == .noStreamForSubject { gaveUpOnStream(of: pending.subject) }
        case .stored(let receipt):
            release(pending.message)
            complete(index, .success(receipt))
        }
    }

    /// Sends a pending task's message again, with a new acknowledgement deadline.
    private func sendAgain(_ index: Int, _ pending: Pending, now: UInt64) {
        var again = pending
        again.attempts.sending()
        again.deadline = now + ackTimeout
        send(index, again)
    }

    /// After a task to `subject` found no stream for its whole patience, fails the tasks to it that wait to be sent
    /// again, and the later ones before they are sent. Tasks in flight keep their own answers.
    private func gaveUpOnStream(of subject: String) {
        noStream.insert(subject)
        for index in emitBase..<nextIndex {
            guard case .pending(let pending) = slots[index % window], pending.waiting, pending.subject == subject
            else { continue }
            release(pending.message)
            complete(index, .failure(Self.noStreamError(id: pending.attempts.id, subject: subject)))
        }
    }

    private static func noStreamError(id: TaskID, subject: String) -> ProtoqueueError {
        var error = NATSErrorMapping.error(
            status: NATS_NO_RESPONDERS, operation: "publish task \(id) to \"\(subject)\"", subject: subject)
        error.message += " to this batch's tasks for \(PublishAttempts.noStreamPatience); the task was not sent"
        return error
    }

    /// Fails every pending task to the subject the server refused, and the later ones before they are sent.
    private func failDenied(_ violation: PermissionViolation) {
        guard violation.kind == .publish, let subject = violation.subject else { return }
        denied[subject] = violation
        for index in emitBase..<nextIndex {
            guard case .pending(let pending) = slots[index % window], pending.subject == subject else { continue }
            release(pending.message)
            complete(
                index, .failure(NATSErrorMapping.permissionDenied(operation: pending.operation, violation: violation)))
        }
    }

    /// Records a task's result (its message, if it was pending, is already freed).
    private func complete(_ index: Int, _ result: Result<EnqueueReceipt, ProtoqueueError>) {
        if case .pending = slots[index % window] { pendingCount -= 1 }
        switch result {
        case .success: summary.succeeded += 1
        case .failure: summary.failed += 1
        }
        slots[index % window] = .done(result)
    }

    private func emitReady(_ sink: (Output) -> Void) {
        while emitBase < nextIndex, case .done(let result) = slots[emitBase % window] {
            slots[emitBase % window] = .free
            sink((emitBase, result))
            emitBase += 1
        }
    }
}

extension NATSClient {
    /// Runs a batch on a dedicated thread.
    func publishBatch(
        options: BatchOptions,
        source: @escaping @Sendable () -> BatchInput?,
        sink: @escaping @Sendable (BatchOutput) -> Void
    ) async throws(ProtoqueueError) -> BatchSummary {
        try beginCall()
        defer { endCall() }
        let run = BatchRun(connection: self, options: options)
        return try await BlockingThreadPool.runDedicated(name: "protoqueue-batch") {
            () throws(ProtoqueueError) -> BatchSummary in
            try run.run(source: source, sink: sink)
        }
    }
}
