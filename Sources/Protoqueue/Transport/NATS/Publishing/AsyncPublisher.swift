import CNats
import Synchronization

/// A nats.c message the library owns (created by us, or handed back by nats.c in an ack callback).
struct OwnedMessage: @unchecked Sendable {
    let pointer: OpaquePointer  // natsMsg*

    func destroy() { natsMsg_Destroy(pointer) }
    var key: UInt { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(pointer))) }
}

/// What happened to one asynchronous publish.
enum PublishEvent: Sendable {
    /// The server stored (or deduplicated) the message; the nats.c message is destroyed once the handler returns.
    case acknowledged(stream: String, sequence: UInt64, duplicate: Bool)
    /// The publish failed (server error or `MaxWait` timeout). The message is handed back: the receiver owns it
    /// and must destroy it or publish it again from its own thread (never from inside the callback).
    case failed(status: natsStatus, jsCode: Int, text: String?, message: OwnedMessage)
    /// The server reported a permission violation for this message's subject. The message still belongs to
    /// nats.c; it is destroyed when its callback arrives or when the publisher reclaims it.
    case permissionDenied(PermissionViolation)
}

/// Routes nats.c's ack callbacks to publishers. The callback closure is a registry number, not an object pointer,
/// so a late callback for a finished publisher finds nothing and only frees the message.
enum PublisherRegistry {
    private static let publishers = Mutex<[UInt: AsyncPublisher]>([:])
    private static let nextID = Atomic<UInt>(1)

    static func add(_ publisher: AsyncPublisher) -> UInt {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        publishers.withLock { $0[id] = publisher }
        return id
    }

    static func remove(_ id: UInt) { _ = publishers.withLock { $0.removeValue(forKey: id) } }

    static func lookup(_ id: UInt) -> AsyncPublisher? { publishers.withLock { $0[id] } }
}

/// Runs on nats.c's reply-subscription thread.
let asyncPublishAckTrampoline: jsPubAckHandler = { _, message, ack, ackError, closure in
    guard let message else { return }
    let owned = OwnedMessage(pointer: message)
    let id = UInt(bitPattern: closure)
    guard let publisher = PublisherRegistry.lookup(id) else {
        owned.destroy()
        return
    }
    if let ack {
        let stream = ack.pointee.Stream.map { String(cString: $0) } ?? ""
        publisher.deliver(owned, event: .acknowledged(stream: stream, sequence: ack.pointee.Sequence, duplicate: ack.pointee.Duplicate))
    } else {
        let status = ackError?.pointee.Err ?? NATS_ERR
        let code = Int(ackError?.pointee.ErrCode.rawValue ?? 0)
        let text = ackError?.pointee.ErrText.map { String(cString: $0) }
        publisher.deliver(owned, event: .failed(status: status, jsCode: code, text: text, message: owned))
    }
}

/// One jsCtx configured for asynchronous publishing whose ack callback routes each acknowledgement to the
/// handler registered for that message. Single enqueues share the connection's (batches read their acknowledgements
/// themselves, see ``BatchRun``).
final class AsyncPublisher: @unchecked Sendable {
    typealias Handler = @Sendable (PublishEvent) -> Void

    private struct Entry {
        var subject: String
        var handler: Handler?  // nil once abandoned: its callback then only frees the message
    }

    private let lock = ConditionLock()
    private var entries: [UInt: Entry] = [:]
    private var jetStreamHandle: OpaquePointer?  // jsCtx*
    private var registryID: UInt = 0
    private var finished = false
    /// Whether a publish went through this context. nats.c 3.4.1 creates its pending-publish map on the first
    /// async publish, and `js_PublishAsyncGetPendingList` dereferences that map without a NULL check: called on a
    /// context that never published (found with a batch whose every task failed validation, when batches still
    /// published through this type) it crashed the process.
    private let hasPublished = Atomic<Bool>(false)
    /// Threads in ``waitUntilIdle(deadline:)``; completions wake them only when there are some.
    private var idleWaiters = 0
    private let events: ConnectionEvents

    /// Creates a jsCtx with the library's ack handler. Its `MaxPending` is unlimited: callers bound their own
    /// window, so `js_PublishMsgAsync` never stalls inside nats.c.
    init(connection: NATSClient) throws(ProtoqueueError) {
        self.events = connection.events
        registryID = PublisherRegistry.add(self)
        var options = jsOptions()
        jsOptions_Init(&options)
        options.Wait = connection.configuration.requestTimeout.milliseconds
        options.PublishAsync.MaxPending = 0
        options.PublishAsync.AckHandler = asyncPublishAckTrampoline
        options.PublishAsync.AckHandlerClosure = UnsafeMutableRawPointer(bitPattern: registryID)
        var js: OpaquePointer?
        let status = natsConnection_JetStream(&js, connection.rawConnection, &options)
        guard status == NATS_OK, let js else {
            PublisherRegistry.remove(registryID)
            throw NATSErrorMapping.error(status: status, operation: "create JetStream publish context")
        }
        jetStreamHandle = js
    }

    /// Publishes `message` (ownership passes to nats.c on success). `handler` is called exactly once, on a nats.c
    /// thread, unless the publish fails synchronously: then the error is returned and the caller still owns
    /// the message.
    func publish(_ message: OwnedMessage, subject: String, maxWait: Int64, handler: @escaping Handler) -> natsStatus {
        let key = message.key
        let js: OpaquePointer? = lock.withLock {
            if finished { return nil }
            entries[key] = Entry(subject: subject, handler: handler)
            return jetStreamHandle
        }
        guard let js else { return NATS_CONNECTION_CLOSED }
        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        options.MaxWait = maxWait
        var pointer: OpaquePointer? = message.pointer
        let status = js_PublishMsgAsync(js, &pointer, &options)
        if status == NATS_OK {
            if !hasPublished.load(ordering: .acquiring) { hasPublished.store(true, ordering: .releasing) }
        } else {
            lock.withLock { _ = entries.removeValue(forKey: key) }
        }
        return status
    }

    func deliver(_ message: OwnedMessage, event: PublishEvent) {
        let entry = lock.withLock { () -> Entry? in
            let entry = entries.removeValue(forKey: message.key)
            if idleWaiters > 0 { lock.broadcast() }
            return entry
        }
        switch event {
        case .acknowledged:
            // The handler runs before the message is freed: message addresses are routing keys here, and nats.c
            // may hand out the same address to the next message once it is freed.
            entry?.handler?(event)
            message.destroy()
        case .failed, .permissionDenied:
            if let handler = entry?.handler {
                handler(event)  // the handler now owns the message
            } else {
                message.destroy()
            }
        }
    }

    /// Fails every pending publish to the violating subject at once, instead of letting it time out.
    func permissionViolation(_ violation: PermissionViolation) {
        guard violation.kind == .publish, let subject = violation.subject else { return }
        let handlers = lock.withLock { () -> [Handler] in
            var handlers: [Handler] = []
            for (key, entry) in entries where entry.subject == subject {
                if let handler = entry.handler { handlers.append(handler) }
                entries[key]?.handler = nil
            }
            lock.broadcast()
            return handlers
        }
        for handler in handlers { handler(.permissionDenied(violation)) }
    }

    /// The JetStream context for `js_PublishAsyncGetPendingList`, or `nil` when nothing was ever published
    /// through it (see ``hasPublished``).
    private var jetStreamForReclaim: OpaquePointer? { lock.withLock { hasPublished.load(ordering: .acquiring) ? jetStreamHandle : nil } }

    /// Waits until no publish whose outcome someone still awaits is pending, or `deadline` (monotonic ns) passes.
    /// Abandoned publishes (already reported as permission denied) are not waited for. Runs on a library thread.
    func waitUntilIdle(deadline: UInt64) -> Bool {
        lock.lock()
        idleWaiters += 1
        defer {
            idleWaiters -= 1
            lock.unlock()
        }
        while entries.values.contains(where: { $0.handler != nil }) {
            if !lock.wait(untilNanoseconds: deadline) { return false }
        }
        return true
    }

    /// Takes back from nats.c every message still waiting for an acknowledgement and frees it; their handlers
    /// (if not abandoned) receive nothing more. Returns how many were reclaimed.
    @discardableResult
    func reclaimPending() -> Int {
        guard let js = jetStreamForReclaim else { return 0 }
        var list = natsMsgList()
        guard js_PublishAsyncGetPendingList(&list, js) == NATS_OK else { return 0 }
        let count = Int(list.Count)
        lock.withLock {
            for index in 0..<count {
                if let message = list.Msgs[index] {
                    entries.removeValue(forKey: OwnedMessage(pointer: message).key)
                }
            }
            if entries.isEmpty { lock.broadcast() }
        }
        natsMsgList_Destroy(&list)
        return count
    }

    /// Waits for outstanding acknowledgements (at most `timeout`), reclaims whatever is left and destroys the jsCtx.
    /// Runs on a library thread. Idempotent.
    func finish(waitFor timeout: Duration) {
        let js: OpaquePointer? = lock.withLock {
            if finished { return nil }
            finished = true
            return jetStreamHandle
        }
        guard let js else { return }
        _ = waitUntilIdle(deadline: MonotonicClock.nanoseconds() + UInt64(max(0, timeout.nanoseconds)))
        reclaimPending()
        PublisherRegistry.remove(registryID)
        lock.withLock {
            entries.removeAll()
            jetStreamHandle = nil
        }
        jsCtx_Destroy(js)
    }
}
