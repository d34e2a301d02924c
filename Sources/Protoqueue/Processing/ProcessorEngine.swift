#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CNats
import Foundation
import Logging
import Synchronization

/// The blocking half of one running processor: a pull subscription bound to the queue's durable consumer, a
/// fetch thread and an acknowledgement thread, both owned by the library.
///
/// - The **fetch thread** asks for exactly as many tasks as there are free slots (`concurrency` minus tasks held),
///   with a short timeout so that stopping is prompt, and hands them to the async side.
/// - The **acknowledgement thread** performs every `+ACK`, `-NAK`, `+WPI`, `+TERM` and dead-letter publish in
///   order, frees the message and releases its slot. Dead-letter publishes block on the server's
///   acknowledgement; that happens here, never on the cooperative pool. (Sending acknowledgements from the
///   handlers' tasks instead was measured slower: the pool threads then contend for nats.c's connection lock.)
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
    private let subscription: OpaquePointer  // natsSubscription*
    private let jetStream: OpaquePointer  // jsCtx*, for dead-letter publishes
    private let requestTimeoutMs: Int64

    // Slots, guarded by slotLock.
    private let slotLock = ConditionLock()
    private var freeSlots: Int
    private var stopping = false
    /// With fewer free slots than this, the fetch thread waits briefly for more before pulling (half the slots).
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
    private let inbox = Mutex(Inbox())

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
        logger: Logger, subscription: OpaquePointer, jetStream: OpaquePointer
    ) {
        self.connection = connection
        self.layout = layout
        self.configuration = configuration
        self.options = options
        self.logger = logger
        self.subscription = subscription
        self.jetStream = jetStream
        self.freeSlots = options.concurrency
        self.requestTimeoutMs = connection.configuration.requestTimeout.milliseconds
    }

    /// Binds a pull subscription to the durable consumer and starts both threads.
    static func start(
        connection: NATSConnection, layout: QueueLayout, configuration: QueueConfiguration, options: ProcessOptions, logger: Logger
    ) async throws(ProtoqueueError) -> ProcessorEngine {
        struct Handles: @unchecked Sendable { var subscription: OpaquePointer; var jetStream: OpaquePointer }
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
                var subOptions = jsSubOptions()
                jsSubOptions_Init(&subOptions)
                var subscription: OpaquePointer?
                var jerr = jsErrCode(0)
                status = layout.streamName.withCString { stream in
                    layout.consumerName.withCString { consumer in
                        subOptions.Stream = stream
                        subOptions.Consumer = consumer
                        return js_PullSubscribe(&subscription, js, layout.consumerFilter, consumer, nil, &subOptions, &jerr)
                    }
                }
                guard status == NATS_OK, let subscription else {
                    jsCtx_Destroy(js)
                    throw NATSErrorMapping.error(
                        status: status, jsCode: Int(jerr.rawValue),
                        operation: "bind to consumer \"\(layout.consumerName)\" of stream \"\(layout.streamName)\""
                    )
                }
                return Handles(subscription: subscription, jetStream: js)
            }
        } catch {
            connection.endCall()
            throw error
        }
        let engine = ProcessorEngine(
            connection: connection, layout: layout, configuration: configuration, options: options, logger: logger,
            subscription: handles.subscription, jetStream: handles.jetStream
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
        let waiter = inbox.withLock { inbox -> CheckedContinuation<Delivery?, Never>? in
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
        let leftovers = inbox.withLock { inbox -> [Delivery] in
            defer {
                inbox.buffer.removeAll()
                inbox.head = 0
            }
            return Array(inbox.buffer[inbox.head...])
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
        let fast = inbox.withLock { inbox -> Outcome in
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
            let now = inbox.withLock { inbox -> Outcome in
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
        inbox.withLock { inbox in inbox.closed ? nil : inbox.pop() }
    }

    /// Queues a command for the acknowledgement thread.
    func enqueue(_ command: Command) {
        ackLock.withLock {
            commands.append(command)
            if commands.count == 1 { ackLock.broadcast() }
        }
    }

    /// Returns `count` slots; wakes the fetch thread when it may be waiting for them (none were free, or half of
    /// them are free now).
    private func releaseSlots(_ count: Int) {
        slotLock.withLock {
            let before = freeSlots
            freeSlots += count
            if before == 0 || (before < lowWater && freeSlots >= lowWater) { slotLock.broadcast() }
        }
    }

    // MARK: Fetch thread

    private func fetchLoop() {
        let timeoutMs = options.fetchTimeout.milliseconds
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
            slotLock.lock()
            if freeSlots == 0 && !stopping {
                // Wake at least every fetch timeout to notice a closing connection.
                let deadline = MonotonicClock.nanoseconds() + UInt64(max(0, options.fetchTimeout.nanoseconds))
                while freeSlots == 0 && !stopping {
                    if !slotLock.wait(untilNanoseconds: deadline) { break }
                }
                if freeSlots == 0 && !stopping {
                    slotLock.unlock()
                    continue
                }
            }
            // Batch pulls: with few slots free, wait a moment (at most 2 ms) for half of them, so a busy worker
            // sends one pull for many tasks instead of one per finished task.
            if freeSlots < lowWater && !stopping {
                let deadline = MonotonicClock.nanoseconds() + 2_000_000
                while freeSlots < lowWater && !stopping {
                    if !slotLock.wait(untilNanoseconds: deadline) { break }
                }
            }
            if stopping {
                slotLock.unlock()
                return
            }
            var batch = freeSlots
            slotLock.unlock()

            // nats.c 3.4.1 `_fetch` overflow (fixed in 3.9.0, PR #749): with more than batch/2 messages already
            // buffered in the subscription (late deliveries of an earlier pull), it can write past its array.
            // Either the batch is at least twice what is buffered, or it is 1.
            var pendingMessages: Int32 = 0
            var pendingBytes: Int32 = 0
            if natsSubscription_GetPending(subscription, &pendingMessages, &pendingBytes) == NATS_OK,
                Int(pendingMessages) * 2 > batch
            {
                batch = 1
            }

            var list = natsMsgList()
            var jerr = jsErrCode(0)
            let started = MonotonicClock.nanoseconds()
            let status = natsSubscription_Fetch(&list, subscription, Int32(batch), timeoutMs, &jerr)
            if list.Count > 0 {
                take(&list)
            }
            natsMsgList_Destroy(&list)
            switch status {
            case NATS_OK:
                failures = 0
            case NATS_TIMEOUT:
                failures = 0
                // nats.c < 3.6.1 can return a timeout at once after a first one (#631): never spin.
                let elapsedMs = Int64((MonotonicClock.nanoseconds() - started) / 1_000_000)
                if elapsedMs < timeoutMs / 2 { pause(milliseconds: min(50, timeoutMs - elapsedMs)) }
            case NATS_CONNECTION_CLOSED, NATS_INVALID_SUBSCRIPTION, NATS_DRAINING:
                let error = NATSErrorMapping.error(status: status, jsCode: Int(jerr.rawValue), operation: "fetch from consumer \"\(layout.consumerName)\"")
                logger.error("processor stops: \(error)")
                fatal.withLock { $0 = error }
                requestStop()
                return
            default:
                failures += 1
                let error = NATSErrorMapping.error(status: status, jsCode: Int(jerr.rawValue), operation: "fetch from consumer \"\(layout.consumerName)\"")
                if failures == 1 || failures % 20 == 0 {
                    logger.warning("fetch failed; retrying", metadata: ["protoqueue.error": "\(error)", "protoqueue.failures": "\(failures)"])
                }
                pause(milliseconds: min(2000, 50 << min(failures, 6)))
            }
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

    /// Takes ownership of the fetched messages (leaving `nil`s for `natsMsgList_Destroy`) and hands them over.
    private func take(_ list: inout natsMsgList) {
        var fetched: [Delivery] = []
        fetched.reserveCapacity(Int(list.Count))
        for index in 0..<Int(list.Count) {
            if let message = list.Msgs[index] {
                fetched.append(Delivery(pointer: message, engine: self))
                list.Msgs[index] = nil
            }
        }
        guard !fetched.isEmpty else { return }
        slotLock.withLock { freeSlots -= fetched.count }
        let waiter = inbox.withLock { inbox -> CheckedContinuation<Delivery?, Never>? in
            if inbox.closed {
                // Stopping: the deliveries stay in the inbox; finish() returns them to the server.
                inbox.buffer.append(contentsOf: fetched)
                return nil
            }
            inbox.buffer.append(contentsOf: fetched)
            guard let waiter = inbox.waiter else { return nil }
            inbox.waiter = nil
            return waiter
        }
        if let waiter {
            // Hand the first one directly to the waiting loop.
            let first = inbox.withLock { $0.pop() }
            waiter.resume(returning: first)
        }
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
                    let status = natsMsg_InProgress(delivery.pointer, nil)
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
        natsSubscription_Unsubscribe(subscription)
        natsSubscription_Destroy(subscription)
        jsCtx_Destroy(jetStream)
    }

    private func commandsPending() -> Int { ackLock.withLock { commands.count } }

    private func free(_ messages: inout [OpaquePointer]) {
        for message in messages { natsMsg_Destroy(message) }
        messages.removeAll(keepingCapacity: true)
    }

    private func perform(_ settlement: Settlement, on delivery: Delivery) {
        let message = delivery.pointer
        var status = NATS_OK
        switch settlement {
        case .ack:
            if options.ackMode.confirmed {
                var jerr = jsErrCode(0)
                status = natsMsg_AckSync(message, nil, &jerr)
            } else {
                status = natsMsg_Ack(message, nil)
            }
        case .nak(let delay):
            status = delay > .zero ? natsMsg_NakWithDelay(message, delay.milliseconds, nil) : natsMsg_Nak(message, nil)
        case .term(let reason):
            logger.warning("task terminated without a dead-letter record (dead letters are disabled)", metadata: ["protoqueue.reason": "\(reason)"])
            status = natsMsg_Term(message, nil)
        case .deadLetter(let failure):
            guard configuration.deadLetter.enabled else {
                logger.error(
                    "task failed; dead letters are disabled, so it is terminated and dropped",
                    metadata: ["protoqueue.reason": "\(failure.reason)", "protoqueue.error": "\(failure.error)", "protoqueue.sequence": "\(failure.sequence)"]
                )
                status = natsMsg_Term(message, nil)
                break
            }
            do throws(ProtoqueueError) {
                try publishDeadLetter(failure, original: delivery)
                status = natsMsg_Term(message, nil)
            } catch {
                // Never lose it: it comes back after a pause and is dead-lettered again (same Nats-Msg-Id, so
                // stored once).
                logger.error(
                    "dead-letter publish failed; the task will be retried",
                    metadata: ["protoqueue.error": "\(error)", "protoqueue.sequence": "\(failure.sequence)"]
                )
                status = natsMsg_NakWithDelay(message, 1000, nil)
            }
        }
        if status != NATS_OK {
            logger.warning(
                "acknowledgement failed; the task will be redelivered after the ack wait",
                metadata: ["protoqueue.result": "\(settlement.name)", "protoqueue.status": "\(String(cString: natsStatus_GetText(status)))"]
            )
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
