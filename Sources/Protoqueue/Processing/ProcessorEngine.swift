#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CNats
import Foundation
import Logging
import Synchronization

/// The blocking half of one running processor: a subscription on an inbox of its own where the queue's durable
/// consumer delivers, and two threads owned by the library.
///
/// - The **fetch thread** sends pull requests (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`, reply to the inbox)
///   for at most as many tasks as there are free slots (`concurrency` minus tasks held and tasks requested), each
///   expiring after ``ProcessOptions/fetchTimeout``, and hands deliveries to the async side in runs as they arrive,
///   so handlers start on the first tasks of a pull while the server still sends the rest. (nats.c's
///   `natsSubscription_Fetch` returns only once a whole batch is in, and 3.4.1's can overflow its array; it is
///   not used.)
/// - The **acknowledgement thread** publishes every `+ACK`, `-NAK`, `+WPI`, `+TERM` and dead-letter record in
///   order, frees the message and releases its slot. Dead-letter publishes block on the server's acknowledgement;
///   that happens here, never on the cooperative pool. (Sending acknowledgements from the handlers' tasks instead
///   was measured slower: the pool threads then contend for nats.c's connection lock.)
///
/// Acknowledgements and pull requests travel on the connection's ``BatchedConnection``, written to the socket in
/// runs; each pull request asks for an immediate write.
final class ProcessorEngine: @unchecked Sendable {
    enum Command {
        case inProgress(Delivery)
        case settle(Delivery, Settlement)
    }

    let layout: QueueLayout
    let configuration: QueueConfiguration
    let options: ProcessOptions
    let logger: Logger
    let connection: NATSConnection
    private let subscription: OpaquePointer  // natsSubscription* on `inbox`
    private let inbox: String
    /// Where pull requests and `+ACK`, `-NAK`, `+WPI`, `+TERM` travel, in runs.
    private let batched: BatchedConnection
    private var transport: OpaquePointer { batched.raw }
    private let jetStream: OpaquePointer  // jsCtx*, for dead-letter publishes
    private let requestTimeoutMs: Int64
    /// `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`.
    private let pullSubject: String

    // Slots, guarded by slotLock.
    private let slotLock = ConditionLock()
    private var freeSlots: Int
    /// Deliveries that arrived with no slot free (for a pull request the fetch thread had given up as expired);
    /// they get the next slots released.
    private var parked: [Delivery] = []
    private var stopping = false
    /// The fetch thread pulls for at least this many tasks (half the slots), or for fewer only when no pull
    /// request is open and a short wait brought no more free slots.
    private var lowWater: Int { max(1, options.concurrency / 2) }

    // Fetched deliveries waiting for a handler.
    private struct Inbox {
        var buffer: [Delivery] = []
        var head = 0
        var waiter: CheckedContinuation<Delivery?, Never>?
        var closed = false

        mutating func pop() -> Delivery? {
            guard head < buffer.count else { return nil }
            let delivery = buffer[head]
            head += 1
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            }
            return delivery
        }
    }
    private let fetched = Mutex(Inbox())

    // Commands for the acknowledgement thread, guarded by ackLock.
    private let ackLock = ConditionLock()
    /// Commands the acknowledgement thread lets gather, when busy, before it takes them.
    private static let ackRun = 32
    private var commands: [Command] = []
    private var ackStopping = false

    private let fetcherExit = ExitSignal()
    private let ackerExit = ExitSignal()

    private let fatal = Mutex<ProtoqueueError?>(nil)
    let runningHandlers = Atomic<Int>(0)

    private init(
        connection: NATSConnection, layout: QueueLayout, configuration: QueueConfiguration, options: ProcessOptions,
        logger: Logger, handles: Handles
    ) {
        self.connection = connection
        self.layout = layout
        self.configuration = configuration
        self.options = options
        self.logger = logger
        self.batched = handles.batched
        self.subscription = handles.subscription
        self.inbox = handles.inbox
        self.jetStream = handles.jetStream
        self.freeSlots = options.concurrency
        self.requestTimeoutMs = connection.configuration.requestTimeout.milliseconds
        self.pullSubject = "$JS.API.CONSUMER.MSG.NEXT.\(layout.streamName).\(layout.consumerName)"
    }

    private struct Handles: @unchecked Sendable {
        var subscription: OpaquePointer
        var inbox: String
        var jetStream: OpaquePointer
        var batched: BatchedConnection
    }

    /// Checks that the durable consumer exists, subscribes to a new inbox for its deliveries and starts the
    /// threads.
    static func start(
        connection: NATSConnection, layout: QueueLayout, configuration: QueueConfiguration, options: ProcessOptions, logger: Logger
    ) async throws(ProtoqueueError) -> ProcessorEngine {
        // Held for the processor's lifetime so that NATSConnection.close() waits for it to stop.
        try connection.beginCall()
        let requestTimeout = connection.configuration.requestTimeout.milliseconds
        let handles: Handles
        do throws(ProtoqueueError) {
            handles = try await connection.withHandles { rawConnection, _ throws(ProtoqueueError) -> Handles in
                var options = jsOptions()
                jsOptions_Init(&options)
                options.Wait = requestTimeout
                var js: OpaquePointer?
                var status = natsConnection_JetStream(&js, rawConnection, &options)
                guard status == NATS_OK, let js else {
                    throw NATSErrorMapping.error(status: status, operation: "create JetStream context for processing")
                }
                // Nobody answers pull requests for a consumer that does not exist: say so now, by name.
                var info: UnsafeMutablePointer<jsConsumerInfo>?
                var jerr = jsErrCode(0)
                status = js_GetConsumerInfo(&info, js, layout.streamName, layout.consumerName, nil, &jerr)
                if let info { jsConsumerInfo_Destroy(info) }
                guard status == NATS_OK else {
                    jsCtx_Destroy(js)
                    throw NATSErrorMapping.error(
                        status: status, jsCode: Int(jerr.rawValue),
                        operation: "bind to consumer \"\(layout.consumerName)\" of stream \"\(layout.streamName)\""
                    )
                }
                let batched: BatchedConnection
                do throws(ProtoqueueError) {
                    batched = try connection.batchedConnection()
                } catch {
                    jsCtx_Destroy(js)
                    throw error
                }
                var inboxName: UnsafeMutablePointer<natsInbox>?
                status = natsInbox_Create(&inboxName)
                guard status == NATS_OK, let inboxName else {
                    jsCtx_Destroy(js)
                    throw NATSErrorMapping.error(status: status, operation: "create the processor's inbox")
                }
                let inbox = String(cString: inboxName)
                natsInbox_Destroy(inboxName)
                var subscription: OpaquePointer?
                status = natsConnection_SubscribeSync(&subscription, rawConnection, inbox)
                guard status == NATS_OK, let subscription else {
                    jsCtx_Destroy(js)
                    throw NATSErrorMapping.error(status: status, operation: "subscribe to the processor's inbox \"\(inbox)\"", subject: inbox)
                }
                // Pull requests never ask for more than the free slots, so the inbox holds at most `concurrency`.
                natsSubscription_SetPendingLimits(subscription, -1, -1)
                return Handles(subscription: subscription, inbox: inbox, jetStream: js, batched: batched)
            }
        } catch {
            connection.endCall()
            throw error
        }
        let engine = ProcessorEngine(
            connection: connection, layout: layout, configuration: configuration, options: options, logger: logger,
            handles: handles
        )
        // A user without permission for acknowledgements ($JS.ACK.>) or pull requests ($JS.API.CONSUMER.MSG.NEXT.…)
        // is not told synchronously: the server drops the message and reports a violation asynchronously. Stop
        // and report it (process() throws permissionDenied naming the subject) instead of looping on redeliveries.
        let token = connection.events.addPermissionListener { [weak engine] violation in engine?.permissionViolation(violation) }
        engine.listenerToken.store(token, ordering: .relaxed)
        engine.startThreads()
        return engine
    }

    private let listenerToken = Atomic<UInt64>(0)

    private func permissionViolation(_ violation: PermissionViolation) {
        let subject = violation.subject ?? ""
        let relevant = violation.kind == .subscribe || subject.hasPrefix("$JS.ACK.") || subject.hasPrefix("$JS.API.")
        guard relevant else { return }
        let error = NATSErrorMapping.permissionDenied(operation: "process queue \"\(layout.streamName)\"", violation: violation)
        let first = fatal.withLock { fatal -> Bool in
            if fatal != nil { return false }
            fatal = error
            return true
        }
        if first {
            logger.error("processor stops: \(error)")
            requestStop()
        }
    }

    private func startThreads() {
        let fetcher = Thread { [self] in
            fetchLoop()
            fetcherExit.signal()
        }
        fetcher.name = "protoqueue-fetch-\(layout.consumerName)"
        fetcher.stackSize = 1 << 20
        let acker = Thread { [self] in
            ackLoop()
            ackerExit.signal()
        }
        acker.name = "protoqueue-ack-\(layout.consumerName)"
        acker.stackSize = 1 << 20
        fetcher.start()
        acker.start()
    }

    /// The error that stopped the processor on its own (the connection closed), if any.
    var fatalError: ProtoqueueError? { fatal.withLock { $0 } }

    // MARK: Stopping

    /// Stops fetching: the fetch thread exits after its current pull request, and ``nextDelivery()`` returns `nil`.
    func requestStop() {
        slotLock.withLock {
            stopping = true
            slotLock.broadcast()
        }
        let waiter = fetched.withLock { inbox -> CheckedContinuation<Delivery?, Never>? in
            inbox.closed = true
            defer { inbox.waiter = nil }
            return inbox.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Waits for the fetch thread, returns unstarted deliveries to the server (`-NAK`, no delay), lets the
    /// acknowledgement thread finish every queued command, then unsubscribes. Call after every handler returned.
    func finish() async {
        requestStop()
        await fetcherExit.wait()
        var leftovers = fetched.withLock { inbox -> [Delivery] in
            defer {
                inbox.buffer.removeAll()
                inbox.head = 0
            }
            return Array(inbox.buffer[inbox.head...])
        }
        leftovers += slotLock.withLock {
            defer { parked.removeAll() }
            return parked
        }
        if !leftovers.isEmpty {
            logger.debug("returning unstarted tasks to the server", metadata: ["protoqueue.count": "\(leftovers.count)"])
        }
        for delivery in leftovers { delivery.settle(.nak(delay: .zero)) }
        ackLock.withLock {
            ackStopping = true
            ackLock.broadcast()
        }
        await ackerExit.wait()
        connection.events.removePermissionListener(listenerToken.load(ordering: .relaxed))
        connection.endCall()
    }

    // MARK: Async side

    /// The next fetched task, or `nil` once stopping.
    func nextDelivery() async -> Delivery? {
        enum Outcome { case delivery(Delivery), finished, wait }
        let fast = fetched.withLock { inbox -> Outcome in
            if inbox.closed { return .finished }
            if let delivery = inbox.pop() { return .delivery(delivery) }
            return .wait
        }
        switch fast {
        case .delivery(let delivery): return delivery
        case .finished: return nil
        case .wait: break
        }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Delivery?, Never>) in
            let now = fetched.withLock { inbox -> Outcome in
                if inbox.closed { return .finished }
                if let delivery = inbox.pop() { return .delivery(delivery) }
                inbox.waiter = continuation
                return .wait
            }
            switch now {
            case .delivery(let delivery): continuation.resume(returning: delivery)
            case .finished: continuation.resume(returning: nil)
            case .wait: break
            }
        }
    }

    /// A fetched task no handler has started, without waiting; `nil` if there is none or the processor is stopping.
    func takeFetched() -> Delivery? {
        fetched.withLock { inbox in inbox.closed ? nil : inbox.pop() }
    }

    /// Queues a command for the acknowledgement thread.
    func enqueue(_ command: Command) {
        ackLock.withLock {
            commands.append(command)
            if commands.count == 1 { ackLock.broadcast() }
        }
    }

    /// Returns `count` slots (to parked deliveries first); wakes the fetch thread when it may be waiting for them
    /// (none were free, or half of them are free now).
    private func releaseSlots(_ count: Int) {
        let unparked = slotLock.withLock { () -> [Delivery] in
            let before = freeSlots
            freeSlots += count
            var unparked: [Delivery] = []
            if !parked.isEmpty {
                let admitted = min(parked.count, freeSlots)
                unparked = Array(parked.prefix(admitted))
                parked.removeFirst(admitted)
                freeSlots -= admitted
            }
            if before == 0 || (before < lowWater && freeSlots >= lowWater) { slotLock.broadcast() }
            return unparked
        }
        if !unparked.isEmpty { handOver(unparked) }
    }

    // MARK: Fetch thread

    /// A pull request's open time beyond its expiry before the fetch thread stops counting on it: the server's
    /// `408` for it normally ends it first, but is lost in a reconnect.
    private static let expiryGrace: UInt64 = 1_000_000_000
    /// The longest the fetch thread blocks at a time, so that it notices a stop or a closing connection.
    private static let readSliceMilliseconds: Int64 = 50

    private func fetchLoop() {
        let expiry = UInt64(max(0, options.fetchTimeout.nanoseconds))
        let timeoutMs = options.fetchTimeout.milliseconds
        var ledger = PullLedger()
        var run: [Delivery] = []
        var failures = 0
        while true {
            if connection.isClosing {
                // NATSConnection.close() waits for this processor: stop (handlers still finish and are settled).
                let error = ProtoqueueError(.connectionClosed, "the connection was closed while processing consumer \"\(layout.consumerName)\"")
                logger.debug("processor stops: the connection is closing")
                fatal.withLock { $0 = error }
                requestStop()
                return
            }
            let now = MonotonicClock.nanoseconds()
            slotLock.lock()
            // Stopping gives requests up at their expiry: what the server still sends after that stays unacknowledged
            // and comes back after the ack wait.
            let grace = stopping ? 0 : Self.expiryGrace
            if now > grace { ledger.expire(before: now - grace) }
            if ledger.isEmpty && !stopping {
                if freeSlots == 0 {
                    // Wake at least every fetch timeout to notice a closing connection.
                    let deadline = now + expiry
                    while freeSlots == 0 && !stopping {
                        if !slotLock.wait(untilNanoseconds: deadline) { break }
                    }
                }
                // With few slots free, wait a moment (at most 2 ms) for half of them, so a busy worker sends one
                // pull for many tasks instead of one per finished task.
                if freeSlots > 0 && freeSlots < lowWater {
                    let deadline = MonotonicClock.nanoseconds() + 2_000_000
                    while freeSlots < lowWater && !stopping {
                        if !slotLock.wait(untilNanoseconds: deadline) { break }
                    }
                }
            }
            let stop = stopping
            let available = freeSlots - ledger.outstanding
            slotLock.unlock()

            if stop {
                // Requests still open may yet deliver: take those (finish() returns them) until the server ends
                // them, at their expiry at the latest.
                if ledger.isEmpty { return }
            } else if available >= lowWater || (ledger.isEmpty && available > 0) {
                let status = pull(available)
                if status == NATS_OK {
                    ledger.requested(available, expiresAt: MonotonicClock.nanoseconds() + expiry)
                } else if !backOff(after: status, jsCode: 0, failures: &failures) {
                    return
                }
            }
            if ledger.isEmpty { continue }

            let status = read(into: &run, ledger: &ledger, timeoutMilliseconds: min(Self.readSliceMilliseconds, timeoutMs))
            if !run.isEmpty {
                failures = 0
                take(&run)
            }
            switch status {
            case NATS_OK, NATS_TIMEOUT:
                break
            case NATS_NO_RESPONDERS:
                // The consumer (or its stream) is gone: nothing will answer the open request.
                ledger.endOldest()
                if !backOff(after: status, jsCode: NATSErrorMapping.JetStreamCode.consumerNotFound, failures: &failures) { return }
            default:
                ledger.endOldest()
                if !backOff(after: status, jsCode: 0, failures: &failures) { return }
            }
        }
    }

    /// Sends one pull request for `count` tasks, expiring after the fetch timeout, and has the batched connection
    /// write it at once (``BatchedConnection/requestWrite()``).
    ///
    /// It travels on the batched connection behind the acknowledgements that freed its slots, so they reach the
    /// socket no later than it does, and no task is delivered into a slot before the acknowledgement that freed it is
    /// written. Whenever the worker dies, the tasks it finished without their acknowledgement having left are thus
    /// at most the `concurrency` slots it held, as with one socket write per acknowledgement.
    private func pull(_ count: Int) -> natsStatus {
        let body = "{\"batch\":\(count),\"expires\":\(max(0, options.fetchTimeout.nanoseconds))}"
        let status = body.withCString { natsConnection_PublishRequest(transport, pullSubject, inbox, $0, Int32(strlen($0))) }
        if status == NATS_OK { batched.requestWrite() }
        return status
    }

    /// Reads what the inbox holds into `run`: waits up to `timeoutMilliseconds` for the first message, then takes
    /// every one already queued. Deliveries count against `ledger`; the server's status messages end requests.
    private func read(into run: inout [Delivery], ledger: inout PullLedger, timeoutMilliseconds: Int64) -> natsStatus {
        var wait = timeoutMilliseconds
        while true {
            var message: OpaquePointer?
            let status = natsSubscription_NextMsg(&message, subscription, wait)
            guard status == NATS_OK, let message else {
                return run.isEmpty || status != NATS_TIMEOUT ? status : NATS_OK
            }
            wait = 0
            if let reply = natsMsg_GetReply(message), reply.pointee != 0 {
                if !ledger.delivered() {
                    logger.debug("delivery for a pull request already given up; it takes the next free slot")
                }
                run.append(Delivery(pointer: message, engine: self))
            } else {
                serverStatus(message, ledger: &ledger)
                natsMsg_Destroy(message)
            }
        }
    }

    /// A message from the server about a pull request (no reply subject): `100` idle heartbeat, `404` no
    /// messages, `408` request expired, `409` request given up (consumer deleted, leadership change, server
    /// shutdown, too many waiting requests...).
    private func serverStatus(_ message: OpaquePointer, ledger: inout PullLedger) {
        var code: UnsafePointer<CChar>?
        guard natsMsgHeader_Get(message, "Status", &code) == NATS_OK, let code else {
            logger.debug("ignoring a message without a reply subject on the processor's inbox")
            return
        }
        let status = String(cString: code)
        if status == "100" { return }
        ledger.endOldest()
        if status == "409" {
            // Rare, and worth an operator's attention: "Consumer Deleted" means no more tasks for this worker.
            var description: UnsafePointer<CChar>?
            _ = natsMsgHeader_Get(message, "Description", &description)
            logger.warning(
                "the server ended a pull request",
                metadata: ["protoqueue.status": "\(status)", "protoqueue.description": "\(description.map { String(cString: $0) } ?? "")"]
            )
        }
    }

    /// Handles a failed pull: a closed connection or subscription stops the processor (`false`); anything else
    /// is logged (the first time and every 20th) and waited out with a growing pause (at most 2 s).
    private func backOff(after status: natsStatus, jsCode: Int, failures: inout Int) -> Bool {
        let error = NATSErrorMapping.error(status: status, jsCode: jsCode, operation: "fetch from consumer \"\(layout.consumerName)\"")
        switch status {
        case NATS_CONNECTION_CLOSED, NATS_INVALID_SUBSCRIPTION, NATS_DRAINING:
            logger.error("processor stops: \(error)")
            fatal.withLock { $0 = error }
            requestStop()
            return false
        default:
            failures += 1
            if failures == 1 || failures % 20 == 0 {
                logger.warning("fetch failed; retrying", metadata: ["protoqueue.error": "\(error)", "protoqueue.failures": "\(failures)"])
            }
            pause(milliseconds: min(2000, 50 << min(failures, 6)))
            return true
        }
    }

    /// Sleeps on the slot lock so that a stop request wakes it.
    private func pause(milliseconds: Int64) {
        let deadline = MonotonicClock.nanoseconds() + UInt64(max(0, milliseconds)) * 1_000_000
        slotLock.lock()
        while !stopping {
            if !slotLock.wait(untilNanoseconds: deadline) { break }
        }
        slotLock.unlock()
    }

    /// Gives the deliveries of `run` their slots (parking any beyond the free ones) and hands them over.
    private func take(_ run: inout [Delivery]) {
        let admitted = slotLock.withLock { () -> Int in
            let admitted = min(run.count, max(0, freeSlots))
            freeSlots -= admitted
            if admitted < run.count { parked.append(contentsOf: run[admitted...]) }
            return admitted
        }
        if admitted == run.count {
            handOver(run)
        } else if admitted > 0 {
            handOver(Array(run[..<admitted]))
        }
        run.removeAll(keepingCapacity: true)
    }

    /// Queues deliveries that hold slots for the handlers, waking the processing loop if it waits.
    private func handOver(_ deliveries: [Delivery]) {
        let handed = fetched.withLock { inbox -> (CheckedContinuation<Delivery?, Never>, Delivery)? in
            // Stopping: the deliveries stay queued; finish() returns them to the server.
            inbox.buffer.append(contentsOf: deliveries)
            guard !inbox.closed, let waiter = inbox.waiter, let first = inbox.pop() else { return nil }
            inbox.waiter = nil
            return (waiter, first)
        }
        // The first one goes directly to the waiting loop (taken under the same lock: a handler may empty the
        // queue as soon as it is released, and `nil` would tell the loop to stop).
        if let (waiter, first) = handed { waiter.resume(returning: first) }
    }

    // MARK: Acknowledgement thread

    private func ackLoop() {
        var batch: [Command] = []
        var settled: [OpaquePointer] = []
        var lastBatch = 0
        while true {
            ackLock.lock()
            while commands.isEmpty && !ackStopping { ackLock.wait() }
            if commands.isEmpty && ackStopping {
                ackLock.unlock()
                break
            }
            if lastBatch > 1 && commands.count < Self.ackRun && !ackStopping {
                // Busy: let a run of commands gather (at most 0.1 ms) rather than waking for each one.
                ackLock.unlock()
                var pause = timespec(tv_sec: 0, tv_nsec: 100_000)
                nanosleep(&pause, nil)
                ackLock.lock()
            }
            swap(&batch, &commands)
            ackLock.unlock()
            lastBatch = batch.count
            var settledNow = 0
            for command in batch {
                switch command {
                case .inProgress(let delivery):
                    let status = reply(to: delivery, "+WPI")
                    if status != NATS_OK {
                        logger.debug("in-progress signal failed", metadata: ["protoqueue.status": "\(status.rawValue)"])
                    }
                case .settle(let delivery, let settlement):
                    perform(settlement, on: delivery)
                    settled.append(delivery.pointer)
                    settledNow += 1
                }
            }
            if settledNow > 0 { releaseSlots(settledNow) }
            // Freed back to back, 256 at a time or when idle: nats.c frees messages on its garbage-collector thread
            // and wakes it when idle, so one at a time between acknowledgements woke it for nearly every message.
            if settled.count >= 256 || commandsPending() == 0 { free(&settled) }
            batch.removeAll(keepingCapacity: true)
        }
        free(&settled)
        // Acknowledgements leave in runs: make sure the server has the last ones before process() returns.
        batched.flush()
        // Deliveries for requests the server still holds may be arriving: nats.c frees the subscription later.
        connection.retire(subscription)
        jsCtx_Destroy(jetStream)
    }

    private func commandsPending() -> Int { ackLock.withLock { commands.count } }

    private func free(_ messages: inout [OpaquePointer]) {
        for message in messages { natsMsg_Destroy(message) }
        messages.removeAll(keepingCapacity: true)
    }

    private func perform(_ settlement: Settlement, on delivery: Delivery) {
        var status = NATS_OK
        switch settlement {
        case .ack:
            status = reply(to: delivery, "+ACK", confirmed: options.ackMode.confirmed)
        case .nak(let delay):
            status = delay > .zero ? reply(to: delivery, "-NAK {\"delay\":\(delay.nanoseconds)}") : reply(to: delivery, "-NAK")
        case .term(let reason):
            logger.warning("task terminated without a dead-letter record (dead letters are disabled)", metadata: ["protoqueue.reason": "\(reason)"])
            status = reply(to: delivery, "+TERM")
        case .deadLetter(let failure):
            guard configuration.deadLetter.enabled else {
                logger.error(
                    "task failed; dead letters are disabled, so it is terminated and dropped",
                    metadata: ["protoqueue.reason": "\(failure.reason)", "protoqueue.error": "\(failure.error)", "protoqueue.sequence": "\(failure.sequence)"]
                )
                status = reply(to: delivery, "+TERM")
                break
            }
            do throws(ProtoqueueError) {
                try publishDeadLetter(failure, original: delivery)
                status = reply(to: delivery, "+TERM")
            } catch {
                // Never lose it: it comes back after a pause and is dead-lettered again (same Nats-Msg-Id, so
                // stored once).
                logger.error(
                    "dead-letter publish failed; the task will be retried",
                    metadata: ["protoqueue.error": "\(error)", "protoqueue.sequence": "\(failure.sequence)"]
                )
                status = reply(to: delivery, "-NAK {\"delay\":1000000000}")
            }
        }
        if status != NATS_OK {
            logger.warning(
                "acknowledgement failed; the task will be redelivered after the ack wait",
                metadata: ["protoqueue.result": "\(settlement.name)", "protoqueue.status": "\(String(cString: natsStatus_GetText(status)))"]
            )
        }
    }

    /// Publishes an acknowledgement (`+ACK`, `-NAK`, `+WPI`, `+TERM`) to the delivery's reply subject; `confirmed`
    /// waits for the server's answer (a request), as nats.c's `natsMsg_AckSync` does.
    private func reply(to delivery: Delivery, _ body: String, confirmed: Bool = false) -> natsStatus {
        guard let subject = natsMsg_GetReply(delivery.pointer) else { return NATS_ILLEGAL_STATE }
        var body = body
        return body.withUTF8 { bytes -> natsStatus in
            guard confirmed else { return natsConnection_Publish(transport, subject, bytes.baseAddress, Int32(bytes.count)) }
            var answer: OpaquePointer?
            // On the send-asap connection: a request waits for its answer, and the flusher's millisecond would be
            // added to every confirmed acknowledgement.
            let status = natsConnection_Request(&answer, connection.rawConnection, subject, bytes.baseAddress, Int32(bytes.count), requestTimeoutMs)
            if let answer { natsMsg_Destroy(answer) }
            return status
        }
    }

    /// Publishes the dead-letter record and waits for the server to store it. Runs on the acknowledgement thread.
    private func publishDeadLetter(_ failure: DeadLetterFailure, original: Delivery) throws(ProtoqueueError) {
        let record = DeadLetterRecordBuilder.build(failure: failure, originalHeaders: original.allHeaders(), failedAt: WallClock.unixMilliseconds())
        let message = original.pointer
        let length = Int(natsMsg_GetDataLength(message))
        var pointer: OpaquePointer?
        var status = natsMsg_Create(&pointer, layout.deadLetterSubject, nil, length > 0 ? natsMsg_GetData(message) : nil, Int32(length))
        guard status == NATS_OK, let pointer else {
            throw NATSErrorMapping.error(status: status, operation: "create dead-letter record")
        }
        defer { natsMsg_Destroy(pointer) }
        for (key, value) in record {
            status = natsMsgHeader_Add(pointer, key, value)
            if status != NATS_OK { throw NATSErrorMapping.error(status: status, operation: "set dead-letter header \(key)") }
        }
        var pubOptions = jsPubOptions()
        jsPubOptions_Init(&pubOptions)
        pubOptions.MaxWait = requestTimeoutMs
        let messageID = WireFormat.deadLetterMessageID(stream: failure.stream, sequence: failure.sequence)
        var ack: UnsafeMutablePointer<jsPubAck>?
        var jerr = jsErrCode(0)
        status = messageID.withCString { id in
            pubOptions.MsgId = id
            return js_PublishMsg(&ack, jetStream, pointer, &pubOptions, &jerr)
        }
        if let ack { jsPubAck_Destroy(ack) }
        guard status == NATS_OK else {
            throw NATSErrorMapping.error(
                status: status, jsCode: Int(jerr.rawValue), operation: "publish dead-letter record to \"\(layout.deadLetterSubject)\"",
                subject: layout.deadLetterSubject
            )
        }
        logger.debug(
            "task dead-lettered",
            metadata: ["protoqueue.reason": "\(failure.reason)", "protoqueue.sequence": "\(failure.sequence)", "protoqueue.attempt": "\(failure.attempts)"]
        )
    }
}

/// Builds the headers of a dead-letter record: the original headers (control `Nats-*` ones moved under
/// `Protoqueue-Original-`), then the failure headers.
enum DeadLetterRecordBuilder {
    static func build(failure: DeadLetterFailure, originalHeaders: [(String, String)], failedAt: Int64) -> [(String, String)] {
        typealias H = WireFormat.DeadLetterHeader
        var headers: [(String, String)] = []
        for (key, value) in originalHeaders {
            if key.hasPrefix("Protoqueue-DLQ-") { continue }  // a replayed task that failed again gets fresh ones
            if key.lowercased().hasPrefix("nats-") {
                headers.append((H.originalPrefix + key, value))
            } else {
                headers.append((key, value))
            }
        }
        headers.append((H.reason, failure.reason.name))
        headers.append((H.error, WireFormat.sanitizedHeaderValue(failure.error)))
        headers.append((H.attempts, String(failure.attempts)))
        headers.append((H.subject, failure.subject))
        headers.append((H.stream, failure.stream))
        headers.append((H.sequence, String(failure.sequence)))
        headers.append((H.consumer, failure.consumer))
        headers.append((H.failedAt, String(failedAt)))
        for key in failure.details.keys.sorted() {
            let safeKey = String(key.unicodeScalars.map { scalar -> Character in
                let ok = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                    || scalar == "-" || scalar == "_" || scalar == "."
                return ok ? Character(scalar) : "_"
            }.prefix(128))
            guard !safeKey.isEmpty else { continue }
            headers.append((H.detailPrefix + safeKey, WireFormat.sanitizedHeaderValue(failure.details[key]!)))
        }
        return headers
    }
}

/// A one-shot signal from a library thread to async code.
final class ExitSignal: Sendable {
    private struct State {
        var done = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.done { return true }
                state.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }
}
