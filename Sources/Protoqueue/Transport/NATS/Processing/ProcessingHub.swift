import CNats
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The processing side of one ``NATSClient`` (its ``DeliveryTransport``), shared by every processor on it: one inbox
/// subscription where all
/// their consumers deliver, and one thread that sends their pull requests and their acknowledgements.
///
/// Processors register with an id; the `n`th pull request of each names `<inbox prefix>.<id>.<n>` as reply
/// subject, where the subscription on `<inbox prefix>.*.*` receives the server's status messages about it;
/// deliveries are routed by the consumer their acknowledgement subject names (``Routes``). nats.c calls the
/// subscription's handler on a delivery thread of its own. Any number of processors on a connection thus use the
/// same two threads; their work is proportional to their traffic, not to their number.
///
/// The hub thread runs commands in the order they were queued: acknowledgements (`+ACK`, `-NAK`, `+WPI`, `+TERM`)
/// and dead-letter records (``Acknowledger``), consumer checks after the server said a consumer may be gone
/// (``ConsumerWatch``), and a processor's last flush. After each run it returns the settled slots and gives the
/// processors that changed their turn (``ProcessorEngine/turn(now:)``), which sends the pull requests. Pull
/// requests thus travel behind the acknowledgements that freed their slots on the batched connection.
final class ProcessingHub: @unchecked Sendable {
    enum Command {
        case inProgress(OpaquePointer, ProcessorEngine)
        case settle(Delivery, Settlement, SettlementReport?)
        /// The server ended a request of the processor in a way that may mean its consumer is gone.
        case checkConsumer(ProcessorEngine, String)
        /// Every earlier command of the processor is done: flush, then let it finish.
        case finish(ProcessorEngine, ExitSignal)
    }

    let batched: BatchedConnection
    let inboxPrefix: String
    let subscription: OpaquePointer  // natsSubscription*, asynchronous, on "<inboxPrefix>.*.*"
    private let acknowledger: Acknowledger
    private let jetStream: OpaquePointer  // jsCtx*, used on the hub thread only
    private let box: SubscriptionTarget<ProcessingHub>
    let rawConnection: OpaquePointer  // natsConnection*, the send-asap one
    let logger: Logger
    let requestTimeout: Duration
    /// Counted by the subscription's handler, for ``readWhatCameDuringTheStop()``.
    let receiving = ReceiveCounts()

    private let routes = Mutex(Routes())
    private let nextID = Atomic<UInt64>(0)

    private let lock = ConditionLock()
    /// Commands the thread lets gather, when busy, before it takes them.
    private static let run = 32
    private var commands: [Command] = []
    /// Processors whose fetch state changed since their last turn.
    private var touched: Set<UInt64> = []
    /// The number of the batched connection's last write (``BatchedConnection/requestWrite()``).
    private var lastWrite: UInt64 = 0
    private var stopping = false
    private var threadDone = false

    private init(
        connection: NATSClient, rawConnection: OpaquePointer, batched: BatchedConnection, inboxPrefix: String,
        subscription: OpaquePointer, jetStream: OpaquePointer, box: SubscriptionTarget<ProcessingHub>
    ) {
        self.box = box
        self.rawConnection = rawConnection
        self.logger = connection.logger
        self.requestTimeout = connection.configuration.requestTimeout
        self.batched = batched
        self.inboxPrefix = inboxPrefix
        self.subscription = subscription
        self.jetStream = jetStream
        self.acknowledger = Acknowledger(
            rawConnection: rawConnection, batched: batched, client: connection,
            requestTimeoutMs: connection.configuration.requestTimeout.milliseconds
        )
    }

    /// Opens the hub of `connection`: its batched connection, the inbox subscription and the thread. Blocks: call
    /// it on a library thread, between ``NATSClient/beginCall()`` and ``NATSClient/endCall()``.
    static func open(
        connection: NATSClient, rawConnection: OpaquePointer
    ) throws(ProtoqueueError) -> ProcessingHub {
        let batched = try connection.batchedConnection()
        var options = jsOptions()
        jsOptions_Init(&options)
        options.Wait = connection.configuration.requestTimeout.milliseconds
        var js: OpaquePointer?
        let status = natsConnection_JetStream(&js, rawConnection, &options)
        guard status == NATS_OK, let js else {
            throw NATSErrorMapping.error(status: status, operation: "create JetStream context for processing")
        }
        let box = SubscriptionTarget<ProcessingHub>()
        let prefix: String
        let subscription: OpaquePointer
        do throws(ProtoqueueError) {
            prefix = try NATSInbox.makeName(for: "the processors' inbox")
            // Pull requests never ask for more than the free slots: what arrives is bounded by the processors'
            // concurrency.
            subscription = try NATSInbox.subscribe(
                rawConnection, to: prefix + ".*.*", handler: hubMessageHandler,
                closure: box.closure, purpose: "the processors' inbox")
        } catch {
            jsCtx_Destroy(js)
            throw error
        }
        // Pull requests go out on the batched connection, so the server must have this subscription before the
        // first one: else it sends the first deliveries to a subject nobody listens on, and they come back only
        // after the ack wait, one delivery spent.
        let flushed = natsConnection_FlushTimeout(rawConnection, connection.configuration.requestTimeout.milliseconds)
        guard flushed == NATS_OK else {
            natsSubscription_Unsubscribe(subscription)
            natsSubscription_Destroy(subscription)
            jsCtx_Destroy(js)
            throw NATSErrorMapping.error(status: flushed, operation: "confirm the processors' inbox subscription")
        }
        let hub = ProcessingHub(
            connection: connection, rawConnection: rawConnection, batched: batched, inboxPrefix: prefix,
            subscription: subscription, jetStream: js, box: box
        )
        box.owner = hub
        batched.onWrite { [weak hub] number in hub?.written(number) }
        hub.startThread()
        return hub
    }

    // MARK: Processors

    /// A new processor id; the reply subject of its `n`th pull request is `<inboxPrefix>.<id>.<n>`.
    func makeProcessorID() -> UInt64 { nextID.add(1, ordering: .relaxed).newValue }

    /// Routes deliveries and status messages for `engine` to it and gives it its first turn.
    func register(_ engine: ProcessorEngine) {
        routes.withLock { $0.add(engine) }
        touch(engine.id)
    }

    /// Stops routing to `engine`: deliveries still arriving for it are returned (``returnUnclaimed(_:)``).
    func unregister(_ engine: ProcessorEngine) {
        routes.withLock { $0.remove(engine) }
    }

    /// Gives the processor `id` a turn soon (its slots, requests or stop state changed).
    func touch(_ id: UInt64) {
        lock.withLock {
            touched.insert(id)
            if commands.isEmpty { lock.broadcast() }
        }
    }

    /// Stops the processors a permission violation concerns: a denied subscription concerns all of them, a denied
    /// acknowledgement or pull request the one of the consumer it names. (A user without permission for
    /// acknowledgements or pull requests is not told synchronously: the server drops the message and reports a
    /// violation asynchronously. The processors stop with it, process() throwing permissionDenied naming the
    /// subject, instead of looping on redeliveries.)
    func permissionViolation(_ violation: PermissionViolation) {
        let engines = routes.withLock { routes in
            violation.kind == .subscribe ? Array(routes.byID.values) : routes.engines(concernedBy: violation.subject)
        }
        for engine in engines {
            let operation = "process queue \"\(engine.layout.streamName)\""
            engine.fail(NATSErrorMapping.permissionDenied(operation: operation, violation: violation))
        }
    }

    /// The batched connection's write `number` is done.
    private func written(_ number: UInt64) {
        lock.withLock {
            lastWrite = number
            lock.broadcast()
        }
    }

    /// Queues a command for the hub thread.
    func enqueue(_ command: Command) {
        lock.withLock {
            commands.append(command)
            if commands.count == 1 { lock.broadcast() }
        }
    }

    /// Tells every processor that the connection is closing: each stops with
    /// ``ProtoqueueError/Code/connectionClosed`` (handlers still finish and are settled).
    func connectionClosing() {
        for engine in routes.withLock({ Array($0.byID.values) }) {
            engine.fail(
                ProtoqueueError(
                    .connectionClosed,
                    "the connection was closed while processing consumer \"\(engine.layout.consumerName)\""
                )
            )
        }
    }

    /// Sends what is queued, ends the thread and unsubscribes; call once no processor runs
    /// (``NATSClient/close()`` waits for them). Blocks until the thread has ended.
    /// - Returns: The unsubscribed subscription, for the connection to free once nats.c no longer delivers to it.
    func stop() -> OpaquePointer {
        lock.lock()
        stopping = true
        lock.broadcast()
        while !threadDone { lock.wait() }
        lock.unlock()
        return subscription
    }

    // MARK: nats.c delivery thread

    /// A JetStream delivery carries its task's subject, not the reply subject of the pull request: it goes to the
    /// processor of the consumer named in its acknowledgement subject. A status message about a pull request
    /// carries that reply subject, `<inbox prefix>.<id>.<n>`.
    fileprivate func received(_ message: OpaquePointer) {
        receiving.started.add(1, ordering: .relaxed)
        defer { receiving.finished.add(1, ordering: .releasing) }
        let engine: ProcessorEngine?
        if let reply = natsMsg_GetReply(message), reply.pointee != 0 {
            engine = routes.withLock { $0.engine(forAckSubject: reply) }
        } else {
            // `<inbox prefix>.<id>.<n>`: the id is the token before the last.
            let id = NATSMessageReader.numericToken(of: message, fromEnd: 1)
            engine = id.flatMap { id in routes.withLock { $0.byID[id] } }
        }
        guard let engine else {
            returnUnclaimed(message)
            return
        }
        guard NATSMessageReader.hasReply(message) else {
            engine.requestEnded(Self.status(of: message))
            natsMsg_Destroy(message)
            return
        }
        engine.delivered(Delivery(message: NATSDeliveredMessage(pointer: message), engine: engine))
    }

    /// A status message about the pull request `<inbox prefix>.<id>.<n>`.
    private static func status(of message: OpaquePointer) -> PullStatus {
        PullStatus(
            code: NATSMessageReader.header("Status", of: message) ?? "",
            description: NATSMessageReader.header("Description", of: message) ?? "",
            request: NATSMessageReader.numericToken(of: message, fromEnd: 0)
        )
    }

    /// Frees a message no running processor takes; a delivery (a processor stopped, or its consumer has none on
    /// this connection any more) is first returned to the server with `-NAK`, so that it is redelivered at once
    /// rather than after the ack wait.
    func returnUnclaimed(_ message: OpaquePointer) {
        if let reply = natsMsg_GetReply(message), reply.pointee != 0 {
            let status = natsConnection_PublishString(rawConnection, reply, "-NAK")
            if status != NATS_OK {
                logger.debug(
                    "returning an unclaimed delivery failed", metadata: ["protoqueue.status": "\(status.rawValue)"])
            }
        }
        natsMsg_Destroy(message)
    }

    // MARK: Hub thread

    private func startThread() {
        let thread = Thread { [self] in
            loop()
            batched.flush()
            natsSubscription_Unsubscribe(subscription)
            jsCtx_Destroy(jetStream)
            lock.withLock {
                threadDone = true
                lock.broadcast()
            }
        }
        thread.name = "protoqueue-processing"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func loop() {
        var batch: [Command] = []
        var settled: [OpaquePointer] = []
        var releases: [UInt64: (ProcessorEngine, Int)] = [:]
        var unwritten = UnwrittenSlots<ProcessorEngine>()
        var deadlines: [UInt64: UInt64] = [:]
        var due: Set<UInt64> = []
        var lastBatch = 0
        var previousRun: UInt64 = 0
        while true {
            var next = deadlines.values.min()
            let awaited = unwritten.awaitedWrite ?? .max
            if !unwritten.isEmpty, let look = unwritten.nextLook(now: MonotonicClock.nanoseconds()) {
                next = min(next ?? .max, look)
            }
            lock.lock()
            lock.wait(
                while: { commands.isEmpty && touched.isEmpty && !stopping && lastWrite < awaited }, deadline: next)
            if stopping && commands.isEmpty {
                lock.unlock()
                break
            }
            if lastBatch > 1 && !commands.isEmpty && commands.count < Self.run {
                // Busy: let a run of commands gather (at most 0.1 ms) rather than waking for each one.
                lock.unlock()
                var pause = timespec(tv_sec: 0, tv_nsec: 100_000)
                nanosleep(&pause, nil)
                lock.lock()
            }
            swap(&batch, &commands)
            swap(&due, &touched)
            let written = lastWrite
            lock.unlock()
            var runStart = MonotonicClock.nanoseconds()
            if HubStall.stopped(deadline: next, woke: runStart, previousRun: previousRun) {
                readWhatCameDuringTheStop()
                // The reading is not part of the run: a slow PING answer must not make the next run look stopped.
                runStart = MonotonicClock.nanoseconds()
            }
            defer { previousRun = MonotonicClock.nanoseconds() - runStart }
            if !unwritten.isEmpty {
                let now = MonotonicClock.nanoseconds()
                for (engine, count) in unwritten.takeWritten(lastWrite: written, now: now, bufferEmpty: batched.isEmpty)
                {
                    engine.written(count)
                }
            }
            lastBatch = batch.count
            for command in batch {
                switch command {
                case .inProgress(let message, let engine):
                    acknowledger.signalInProgress(message, engine: engine)
                case .settle(let delivery, let settlement, let report):
                    let message = NATSDeliveredMessage.pointer(of: delivery)
                    let outcome = acknowledger.perform(settlement, on: message, of: delivery)
                    report?.tell(outcome, late: delivery.missedAckWindow)
                    settled.append(message)
                    // Not `releases[id, default: (engine, 0)]`: its autoclosure would be allocated on every settlement.
                    let engine = delivery.engine
                    if releases[engine.id] != nil {
                        releases[engine.id]!.1 += 1
                    } else {
                        releases[engine.id] = (engine, 1)
                    }
                case .checkConsumer(let engine, let reason):
                    engine.checkConsumer(after: reason) { () throws(ProtoqueueError) -> Bool in
                        guard engine.layout.tier != nil else {
                            return try Provisioner.ensureConsumer(
                                js: jetStream, layout: engine.layout, configuration: engine.configuration)
                        }
                        return try TierConsumers.ensure(
                            rawConnection, tier: engine.layout, configuration: engine.configuration, create: true,
                            timeout: requestTimeout)
                    }
                    due.insert(engine.id)
                case .finish(let engine, let signal):
                    batched.flush()
                    deadlines[engine.id] = nil
                    signal.signal()
                }
            }
            for (id, (engine, count)) in releases {
                if engine.releasesAfterWrite {
                    unwritten.add(count, of: engine, write: batched.requestWrite(), now: MonotonicClock.nanoseconds())
                    engine.release(count, awaitingWrite: true)
                } else {
                    engine.release(count)
                }
                due.insert(id)
            }
            releases.removeAll(keepingCapacity: true)
            // Freed back to back, 256 at a time or when idle: nats.c frees messages on its garbage-collector thread
            // and wakes it when idle, so one at a time between acknowledgements woke it for nearly every message.
            if settled.count >= 256 || lock.withLock({ commands.isEmpty }) { free(&settled) }
            batch.removeAll(keepingCapacity: true)
            let now = MonotonicClock.nanoseconds()
            for (id, deadline) in deadlines where deadline <= now { due.insert(id) }
            guard !due.isEmpty else { continue }
            let turning = routes.withLock { routes in due.compactMap { routes.byID[$0] } }
            for id in due { deadlines[id] = nil }
            due.removeAll(keepingCapacity: true)
            for engine in turning {
                if let deadline = engine.turn(now: now).deadline { deadlines[engine.id] = deadline }
            }
        }
        free(&settled)
    }

    private func free(_ messages: inout [OpaquePointer]) {
        for message in messages { natsMsg_Destroy(message) }
        messages.removeAll(keepingCapacity: true)
    }
}

private let hubMessageHandler: natsMsgHandler = { _, _, message, closure in
    guard let message else { return }
    guard let hub = SubscriptionTarget<ProcessingHub>.owner(of: closure) else {
        natsMsg_Destroy(message)
        return
    }
    hub.received(message)
}
