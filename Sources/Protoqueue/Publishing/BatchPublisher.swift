import CNats

/// Settings of one ``Queue/enqueueBatch(_:options:)`` call.
public struct BatchOptions: Sendable, Hashable {
    /// Tasks published and not yet reported, at most (the pending-acknowledgement window). Bounds memory:
    /// a batch of millions holds at most this many encoded tasks at once.
    public var window: Int
    /// How long to wait for each task's acknowledgement before sending it again (nats.c `jsPubOptions.MaxWait`);
    /// `nil` uses the connection's request timeout.
    public var ackTimeout: Duration?
    /// Sends per task (first send plus re-sends after ack timeouts, always with the same id).
    public var maxAttempts: Int

    /// Creates batch options (defaults: window 1,024, the connection's request timeout, 3 attempts).
    public init(window: Int = 1024, ackTimeout: Duration? = nil, maxAttempts: Int = 3) {
        self.window = window
        self.ackTimeout = ackTimeout
        self.maxAttempts = maxAttempts
    }
}

/// One task of a batch with its own options.
public struct EnqueueItem<Message: ProtoqueueMessage>: Sendable {
    /// The task.
    public var task: Message
    /// Its id and metadata.
    public var options: EnqueueOptions

    /// Creates an item.
    public init(_ task: Message, options: EnqueueOptions = EnqueueOptions()) {
        self.task = task
        self.options = options
    }
}

/// Counts of a finished batch.
public struct BatchSummary: Sendable, Hashable {
    /// Tasks read from the input.
    public var total: Int
    /// Tasks stored (duplicates included).
    public var succeeded: Int
    /// Tasks the server reported as duplicates of an id already stored.
    public var duplicates: Int
    /// Tasks that failed (their results carry the error).
    public var failed: Int
    /// Re-sends after acknowledgement timeouts.
    public var resent: Int

    /// Creates a summary.
    public init(total: Int = 0, succeeded: Int = 0, duplicates: Int = 0, failed: Int = 0, resent: Int = 0) {
        self.total = total
        self.succeeded = succeeded
        self.duplicates = duplicates
        self.failed = failed
        self.resent = resent
    }
}

/// Drives one batch on a thread of its own: publishes with `js_PublishMsgAsync` on a jsCtx created for the batch,
/// keeps at most `window` tasks outstanding, re-sends timed-out tasks from this thread (never from the nats.c
/// callback), and reports results strictly in input order.
final class BatchRun: @unchecked Sendable {
    typealias Input = (id: String, prepared: Result<PreparedMessage, ProtoqueueError>)
    typealias Output = (index: Int, result: Result<EnqueueReceipt, ProtoqueueError>)

    private enum Slot {
        case inFlight(id: String, subject: String, attempt: Int, key: UInt)
        case done(Result<EnqueueReceipt, ProtoqueueError>)
    }

    private let connection: NATSConnection
    private let window: Int
    private let maxWait: Int64
    private let maxAttempts: Int
    private let lock = ConditionLock()
    private var slots: [Slot?]
    private var emitBase = 0
    private var nextIndex = 0
    private var retries: [(index: Int, message: OwnedMessage)] = []
    private var keyToIndex: [UInt: Int] = [:]
    private var denied: [String: PermissionViolation] = [:]
    private var summary = BatchSummary()
    private var lastProgress: UInt64 = 0
    /// Whether the driver thread sleeps on `lock`, and how many items finished since it last woke. Callbacks wake
    /// it only after a run of completions (or when nothing is left in flight, or a re-send is queued), so the
    /// driver does not ping-pong with nats.c's thread once per message.
    private var driverWaiting = false
    private var finishedSinceWake = 0
    private var inFlight = 0
    private let wakeThreshold: Int
    private let started = MonotonicClock.nanoseconds()
    private var closedError: ProtoqueueError {
        ProtoqueueError(.connectionClosed, "the connection was closed while the batch was running; the task was not sent")
    }

    init(connection: NATSConnection, options: BatchOptions) {
        self.connection = connection
        self.window = max(1, options.window)
        self.maxWait = (options.ackTimeout ?? connection.configuration.requestTimeout).milliseconds
        self.maxAttempts = max(1, options.maxAttempts)
        self.slots = Array(repeating: nil, count: self.window)
        self.wakeThreshold = max(1, min(256, self.window / 8))
    }

    /// Runs the batch to completion on the calling (library-owned) thread.
    func run(source: () -> Input?, sink: (Output) -> Void) throws(ProtoqueueError) -> BatchSummary {
        let publisher = try AsyncPublisher(connection: connection, label: "batch")
        defer { publisher.finish(waitFor: .zero) }
        var sourceDone = false
        lock.withLock { lastProgress = MonotonicClock.nanoseconds() }
        while true {
            lock.lock()
            var ready: [Output] = []
            while emitBase < nextIndex, case .done(let result)? = slots[emitBase % window] {
                ready.append((emitBase, result))
                slots[emitBase % window] = nil
                emitBase += 1
            }
            if !ready.isEmpty {
                lock.unlock()
                for output in ready { sink(output) }
                continue
            }
            if !retries.isEmpty {
                let retry = retries.removeFirst()
                lock.unlock()
                if connection.isClosing {
                    retry.message.destroy()
                    lock.withLock { finishLocked(retry.index, .failure(closedError)) }
                } else {
                    resend(retry.message, index: retry.index, publisher: publisher)
                }
                continue
            }
            if !sourceDone && nextIndex - emitBase < window {
                lock.unlock()
                if let input = source() {
                    if connection.isClosing {
                        // The connection is closing: report the rest of the input without sending it.
                        lock.withLock {
                            let index = nextIndex
                            nextIndex += 1
                            summary.total += 1
                            finishLocked(index, .failure(closedError))
                        }
                    } else {
                        start(input, publisher: publisher)
                    }
                } else {
                    sourceDone = true
                }
                continue
            }
            if sourceDone && emitBase == nextIndex {
                lock.unlock()
                break
            }
            // Wait for callbacks. A watchdog covers an acknowledgement nats.c never reports (no callback within
            // twice the ack timeout plus 5 s): reclaim the pending messages and treat them as timed out.
            let watchdog = lastProgress + UInt64(max(maxWait, 1)) * 2_000_000 + 5_000_000_000
            driverWaiting = true
            finishedSinceWake = 0
            let signalled = lock.wait(untilNanoseconds: watchdog)
            driverWaiting = false
            if !signalled && MonotonicClock.nanoseconds() >= watchdog {
                lock.unlock()
                reclaimStalled(publisher: publisher)
                continue
            }
            lock.unlock()
        }
        return lock.withLock { summary }
    }

    /// Numbers the input and publishes it. The message is made before taking the lock, and numbering, slot and
    /// routing entry are recorded under one lock hold: the acknowledgement thread contends for the same lock.
    private func start(_ input: Input, publisher: AsyncPublisher) {
        let made: Result<(OwnedMessage, PreparedMessage), ProtoqueueError>
        switch input.prepared {
        case .failure(let error):
            made = .failure(error)
        case .success(let prepared):
            do throws(ProtoqueueError) {
                made = .success((try prepared.makeMessage(), prepared))
            } catch {
                made = .failure(error)
            }
        }
        lock.lock()
        let index = nextIndex
        nextIndex += 1
        summary.total += 1
        var outcome = made
        if case .success(let (_, prepared)) = made, let violation = denied[prepared.subject] {
            outcome = .failure(NATSErrorMapping.permissionDenied(operation: "publish task \(input.id) to \"\(prepared.subject)\"", violation: violation))
        }
        switch outcome {
        case .failure(let error):
            finishLocked(index, .failure(error))
            lock.unlock()
            if case .success(let (message, _)) = made { message.destroy() }
        case .success(let (message, prepared)):
            slots[index % window] = .inFlight(id: prepared.id, subject: prepared.subject, attempt: 1, key: message.key)
            keyToIndex[message.key] = index
            inFlight += 1
            lock.unlock()
            publish(message, index: index, subject: prepared.subject, publisher: publisher)
        }
    }

    /// Sends a timed-out task again (same message, same id).
    private func resend(_ message: OwnedMessage, index: Int, publisher: AsyncPublisher) {
        let subject: String? = lock.withLock {
            guard case .inFlight(_, let subject, _, _)? = slots[index % window] else { return nil }
            keyToIndex[message.key] = index
            inFlight += 1
            return subject
        }
        guard let subject else {
            message.destroy()
            return
        }
        publish(message, index: index, subject: subject, publisher: publisher)
    }

    /// Lock not held; the slot is in flight and routed.
    private func publish(_ message: OwnedMessage, index: Int, subject: String, publisher: AsyncPublisher) {
        let status = publisher.publish(message, subject: subject, maxWait: maxWait) { [self] event in
            handle(event, index: index, key: message.key)
        }
        if status != NATS_OK {
            message.destroy()
            let error = NATSErrorMapping.error(status: status, operation: "publish to \"\(subject)\"", subject: subject)
            lock.withLock {
                keyToIndex.removeValue(forKey: message.key)
                inFlight -= 1
                finishLocked(index, .failure(error))
            }
        }
    }

    /// Runs on nats.c's thread: records the outcome; never publishes.
    private func handle(_ event: PublishEvent, index: Int, key: UInt) {
        var destroy: OwnedMessage?
        lock.lock()
        guard keyToIndex.removeValue(forKey: key) != nil else {
            // The watchdog already settled this slot as orphaned (see `reclaimStalled`): a late callback changes nothing.
            lock.unlock()
            if case .failed(_, _, _, let message) = event { message.destroy() }
            return
        }
        guard case .inFlight(let id, let subject, let attempt, _)? = slots[index % window] else {
            inFlight -= 1
            lock.unlock()
            if case .failed(_, _, _, let message) = event { message.destroy() }
            return
        }
        inFlight -= 1  // a re-send counts again when the driver sends it
        switch event {
        case .acknowledged(let stream, let sequence, let duplicate):
            if duplicate { summary.duplicates += 1 }
            finishLocked(index, .success(EnqueueReceipt(id: id, sequence: sequence, duplicate: duplicate, stream: stream)))
        case .permissionDenied(let violation):
            denied[subject] = violation
            finishLocked(index, .failure(NATSErrorMapping.permissionDenied(operation: "publish task \(id) to \"\(subject)\"", violation: violation)))
        case .failed(let status, let jsCode, let text, let message):
            if status == NATS_TIMEOUT, let violation = denied[subject] ?? connection.events.recentViolation(since: started, matching: { $0 == subject }) {
                denied[subject] = violation
                destroy = message
                finishLocked(index, .failure(NATSErrorMapping.permissionDenied(operation: "publish task \(id) to \"\(subject)\"", violation: violation)))
            } else if status == NATS_TIMEOUT && attempt < maxAttempts {
                slots[index % window] = .inFlight(id: id, subject: subject, attempt: attempt + 1, key: message.key)
                retries.append((index, message))
                summary.resent += 1
                wakeDriverLocked(force: true)
            } else {
                destroy = message
                var error = NATSErrorMapping.error(status: status, jsCode: jsCode, operation: "publish task \(id) to \"\(subject)\"", subject: subject, errorText: text)
                if status == NATS_TIMEOUT { error.message += " after \(attempt) attempts" }
                finishLocked(index, .failure(error))
            }
        }
        lock.unlock()
        destroy?.destroy()
    }

    /// Lock held.
    private func finishLocked(_ index: Int, _ result: Result<EnqueueReceipt, ProtoqueueError>) {
        switch result {
        case .success: summary.succeeded += 1
        case .failure: summary.failed += 1
        }
        slots[index % window] = .done(result)
        lastProgress = MonotonicClock.nanoseconds()
        finishedSinceWake += 1
        wakeDriverLocked(force: false)
    }

    /// Lock held. Wakes the driver when it waits and has enough to do.
    private func wakeDriverLocked(force: Bool) {
        guard driverWaiting else { return }
        if force || finishedSinceWake >= wakeThreshold || inFlight == 0 {
            lock.broadcast()
        }
    }

    /// Takes every outstanding message back from nats.c and handles it as a timeout (re-send or fail).
    private func reclaimStalled(publisher: AsyncPublisher) {
        connection.logger.warning("batch publish: no acknowledgement or timeout reported in time; reclaiming pending messages")
        var list = natsMsgList()
        // NATS_NOT_FOUND means nats.c holds no pending message at all.
        let listed = publisher.jetStreamForReclaim.map { js_PublishAsyncGetPendingList(&list, $0) == NATS_OK } ?? false
        var reclaimed: [(Int, OwnedMessage)] = []
        lock.withLock {
            for position in 0..<(listed ? Int(list.Count) : 0) {
                guard let pointer = list.Msgs[position] else { continue }
                let message = OwnedMessage(pointer: pointer)
                if let index = keyToIndex[message.key] {
                    reclaimed.append((index, message))
                    list.Msgs[position] = nil  // now ours
                }
            }
            settleOrphansLocked(keeping: Set(reclaimed.map { $0.1.key }))
        }
        if listed { natsMsgList_Destroy(&list) }
        for (index, message) in reclaimed {
            publisher.forget(message)
            handle(.failed(status: NATS_TIMEOUT, jsCode: 0, text: "no acknowledgement", message: message), index: index, key: message.key)
        }
        lock.withLock { lastProgress = MonotonicClock.nanoseconds() }
    }

    /// Lock held. Fails every in-flight task whose message nats.c no longer holds (no callback will ever come for
    /// it), so the batch ends instead of waiting forever. Whether the server stored such a task is unknown: the error
    /// says so, and enqueueing it again with the same id is safe inside the duplicate window.
    private func settleOrphansLocked(keeping pending: Set<UInt>) {
        let orphans = keyToIndex.filter { !pending.contains($0.key) }
        for (key, index) in orphans {
            keyToIndex.removeValue(forKey: key)
            inFlight -= 1
            guard case .inFlight(let id, let subject, let attempt, _)? = slots[index % window] else { continue }
            finishLocked(
                index,
                .failure(ProtoqueueError(
                    .timeout,
                    "publish task \(id) to \"\(subject)\": no acknowledgement after \(attempt) attempt(s) and the NATS client no longer holds the message; the task may or may not be stored, so enqueue it again with the same id (deduplicated)"
                ))
            )
        }
    }
}

extension NATSConnection {
    /// Runs a batch on a dedicated thread.
    func runBatch(
        options: BatchOptions,
        source: @escaping @Sendable () -> BatchRun.Input?,
        sink: @escaping @Sendable (BatchRun.Output) -> Void
    ) async throws(ProtoqueueError) -> BatchSummary {
        try beginCall()
        defer { endCall() }
        let run = BatchRun(connection: self, options: options)
        return try await BlockingThreadPool.runDedicated(name: "protoqueue-batch") { () throws(ProtoqueueError) -> BatchSummary in
            try run.run(source: source, sink: sink)
        }
    }
}
