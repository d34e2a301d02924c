import CNats
import Logging
import Synchronization

/// One running processor: its fetch state, its deliveries on their way to handlers, and what stops it.
///
/// It owns no thread. The connection's ``ProcessingHub`` routes deliveries and server status messages for it to
/// ``received(_:)`` (on nats.c's delivery thread), gives it turns on the hub thread to send pull requests
/// (``turn(now:)``) and returns its slots as settlements go out (``release(_:)``). The decisions are in
/// ``FetchState``; this type does their I/O: a pull request for `n` tasks to
/// `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` with `<hub inbox>.<id>` as reply subject, expiring after
/// ``ProcessOptions/fetchTimeout``, on the batched connection.
final class ProcessorEngine: Sendable {
    let id: UInt64
    let hub: ProcessingHub
    let connection: NATSConnection
    let layout: QueueLayout
    let logger: Logger
    let confirmedAcks: Bool
    let deadLettersEnabled: Bool
    /// Fetched deliveries waiting for a handler.
    let handOff = HandOffQueue()
    private let watch: ConsumerWatch
    private let state: Mutex<FetchState<Delivery>>
    private let fatal = FirstError()
    private let fetchEnded = ExitSignal()
    private let listenerToken = Atomic<UInt64>(0)
    private let pullSubject: String
    /// `<hub inbox>.<id>.`: a pull request's reply subject is this and the request's number.
    private let replyPrefix: String

    private init(
        connection: NATSConnection, hub: ProcessingHub, layout: QueueLayout, configuration: QueueConfiguration,
        options: ProcessOptions, logger: Logger
    ) {
        self.connection = connection
        self.hub = hub
        self.id = hub.makeID()
        self.layout = layout
        self.logger = logger
        self.confirmedAcks = options.ackMode.confirmed
        self.deadLettersEnabled = configuration.deadLetter.enabled
        self.watch = ConsumerWatch(layout: layout, configuration: configuration)
        self.state = Mutex(
            FetchState(concurrency: options.concurrency, expiry: UInt64(max(0, options.fetchTimeout.nanoseconds)))
        )
        self.pullSubject = "$JS.API.CONSUMER.MSG.NEXT.\(layout.streamName).\(layout.consumerName)"
        self.replyPrefix = "\(hub.inboxPrefix).\(id)."
    }

    /// Checks that the durable consumer exists and registers a processor with the connection's hub.
    static func start(
        connection: NATSConnection, layout: QueueLayout, configuration: QueueConfiguration, options: ProcessOptions,
        logger: Logger
    ) async throws(ProtoqueueError) -> ProcessorEngine {
        // Held for the processor's lifetime so that NATSConnection.close() waits for it to stop.
        try connection.beginCall()
        let hub: ProcessingHub
        do throws(ProtoqueueError) {
            hub = try await connection.withHandles { rawConnection, js throws(ProtoqueueError) -> ProcessingHub in
                // Nobody answers pull requests for a consumer that does not exist: say so now, by name.
                var info: UnsafeMutablePointer<jsConsumerInfo>?
                var jerr = jsErrCode(0)
                let status = js_GetConsumerInfo(&info, js, layout.streamName, layout.consumerName, nil, &jerr)
                if let info { jsConsumerInfo_Destroy(info) }
                guard status == NATS_OK else {
                    throw NATSErrorMapping.error(
                        status: status, jsCode: Int(jerr.rawValue),
                        operation: "bind to consumer \"\(layout.consumerName)\" of stream \"\(layout.streamName)\""
                    )
                }
                return try connection.processingHub(rawConnection: rawConnection)
            }
        } catch {
            connection.endCall()
            throw error
        }
        let engine = ProcessorEngine(
            connection: connection, hub: hub, layout: layout, configuration: configuration, options: options,
            logger: logger
        )
        // A user without permission for acknowledgements ($JS.ACK.>) or pull requests ($JS.API.CONSUMER.MSG.NEXT.…)
        // is not told synchronously: the server drops the message and reports a violation asynchronously. Stop
        // and report it (process() throws permissionDenied naming the subject) instead of looping on redeliveries.
        let token = connection.events.addPermissionListener { [weak engine] violation in
            engine?.permissionViolation(violation)
        }
        engine.listenerToken.store(token, ordering: .relaxed)
        hub.register(engine)
        return engine
    }

    private func permissionViolation(_ violation: PermissionViolation) {
        let subject = violation.subject ?? ""
        let relevant = violation.kind == .subscribe || subject.hasPrefix("$JS.ACK.") || subject.hasPrefix("$JS.API.")
        guard relevant else { return }
        let operation = "process queue \"\(layout.streamName)\""
        fail(NATSErrorMapping.permissionDenied(operation: operation, violation: violation))
    }

    /// The error that stopped the processor on its own (the connection closed, the consumer is gone), if any.
    var fatalError: ProtoqueueError? { fatal.value }

    /// Stops the processor with `error` (the first one is kept).
    func fail(_ error: ProtoqueueError) {
        if fatal.record(error) { logger.error("processor stops: \(error)") }
        requestStop()
    }

    /// Stops fetching: open pull requests are given up at their expiry, and ``HandOffQueue/next()`` returns `nil`.
    func requestStop() {
        state.withLock { $0.stop() }
        handOff.close()
        hub.touch(id)
    }

    /// Waits for the open pull requests to end, returns unstarted deliveries to the server (`-NAK`, no delay),
    /// lets the hub send every queued settlement and flush, then unregisters. Call after every handler returned.
    func finish() async {
        requestStop()
        await fetchEnded.wait()
        // Parked first: a release moves parked deliveries to the hand-off queue under the same lock.
        let leftovers = state.withLock { $0.drainParked() } + handOff.drain()
        if !leftovers.isEmpty {
            logger.debug(
                "returning unstarted tasks to the server", metadata: ["protoqueue.count": "\(leftovers.count)"])
        }
        for delivery in leftovers { delivery.settle(.nak(delay: .zero)) }
        let flushed = ExitSignal()
        hub.enqueue(.finish(self, flushed))
        await flushed.wait()
        hub.unregister(self)
        connection.events.removePermissionListener(listenerToken.load(ordering: .relaxed))
        connection.endCall()
    }

    // MARK: nats.c delivery thread

    /// Whether pull requests of this processor still wait for deliveries.
    var awaitsDeliveries: Bool { state.withLock { $0.ledger.outstanding > 0 } }

    /// A message for this processor: a delivery, or the server's status about a pull request.
    func received(_ message: OpaquePointer) {
        guard NATSMessageReader.hasReply(message) else {
            serverStatus(message)
            natsMsg_Destroy(message)
            return
        }
        let delivery = Delivery(pointer: message, engine: self)
        state.withLock { state in
            let (arrival, expected) = state.arrived(delivery)
            if !expected && arrival != .refused {
                logger.debug("delivery for a pull request already given up; it takes the next free slot")
            }
            switch arrival {
            case .admitted: handOff.handOver(delivery)
            case .parked: break
            case .refused: hub.returnUnclaimed(message)  // stopped fetching
            }
        }
    }

    /// A message from the server about a pull request (no reply subject): `100` idle heartbeat, `404` no
    /// messages, `408` request expired, `409` request given up (consumer deleted, leadership change, server
    /// shutdown, too many waiting requests...), `503` no responders.
    private func serverStatus(_ message: OpaquePointer) {
        guard let status = NATSMessageReader.header("Status", of: message) else {
            logger.debug("ignoring a message without a reply subject on the processor's inbox")
            return
        }
        if status == "100" { return }
        let number = NATSMessageReader.numericToken(of: message, fromEnd: 0)
        state.withLock { $0.requestEnded(number: number) }
        let description = NATSMessageReader.header("Description", of: message) ?? ""
        if status == "503" || (status == "409" && description.lowercased().contains("consumer deleted")) {
            hub.enqueue(.checkConsumer(self, "\(status) \(description)"))
        } else if status == "409" {
            // Rare, and worth an operator's attention.
            logger.warning(
                "the server ended a pull request",
                metadata: ["protoqueue.status": "\(status)", "protoqueue.description": "\(description)"]
            )
        }
        // The next pull goes from here, saving an idle worker a wake-up of the hub thread per expired request; the
        // hub's turn comes later when none was sent (a wait for more free slots, a stop).
        if !turn(now: MonotonicClock.nanoseconds()).pulled { hub.touch(id) }
    }

    // MARK: Turns and settlements

    /// Sends a pull request when ``FetchState`` says so; signals the end of fetching once stopped. Runs on the hub
    /// thread, or on nats.c's delivery thread after a status message: a pull sent here is still behind every
    /// acknowledgement that freed its slots, since slots are released only after their acknowledgements went out.
    /// - Returns: When the processor wants its next turn at the latest (monotonic ns), or `nil` for none, and
    ///   whether a pull request was sent.
    func turn(now: UInt64) -> (deadline: UInt64?, pulled: Bool) {
        var failed: (status: natsStatus, failures: Int)?
        let (turn, deadline) = state.withLock { state -> (FetchState<Delivery>.Turn, UInt64?) in
            let turn = state.turn(now: now)
            guard let count = turn.pull else { return (turn, turn.deadline) }
            // Sent under the lock, so that no delivery for it arrives before the ledger counts it.
            let status = pull(count, expires: turn.expires, number: state.pulls + 1)
            guard status == NATS_OK else {
                let (failures, retryAt) = state.pullFailed(at: now)
                failed = (status, failures)
                return (turn, min(turn.deadline ?? .max, retryAt))
            }
            state.pulled(count, expires: turn.expires, at: now)
            return (turn, state.ledger.oldestExpiry.map { $0 + state.expiryGrace })
        }
        if turn.fetchEnded { fetchEnded.signal() }
        if let failed { pullFailed(failed.status, failures: failed.failures) }
        return (deadline, turn.pull != nil && failed == nil)
    }

    /// Sends one pull request for `count` tasks expiring after `expires` ns and has the batched connection write it
    /// at once (``BatchedConnection/requestWrite()``). (Left to nats.c 3.4.1's flusher instead, a request now and then
    /// stayed in the buffer until the next write, under load: an idle worker then had no request open for up to a
    /// second.)
    ///
    /// It travels on the batched connection behind the acknowledgements that freed its slots, so they reach the
    /// socket no later than it does, and no task is delivered into a slot before the acknowledgement that freed it
    /// is written. Whenever the worker dies, the tasks it finished without their acknowledgement having left are
    /// thus at most the `concurrency` slots it held, as with one socket write per acknowledgement.
    private func pull(_ count: Int, expires: UInt64, number: UInt64) -> natsStatus {
        var body = "{\"batch\":\(count),\"expires\":\(expires)}"
        let reply = replyPrefix + String(number)
        let status = body.withUTF8 { bytes in
            natsConnection_PublishRequest(hub.batched.raw, pullSubject, reply, bytes.baseAddress, Int32(bytes.count))
        }
        if status == NATS_OK { hub.batched.requestWrite() }
        return status
    }

    /// A closed connection stops the processor; anything else is logged (the first time and every 20th) and
    /// retried after a growing pause (``FetchState/pullFailed(at:)``).
    private func pullFailed(_ status: natsStatus, failures: Int) {
        let error = NATSErrorMapping.error(status: status, operation: "fetch from consumer \"\(layout.consumerName)\"")
        switch status {
        case NATS_CONNECTION_CLOSED, NATS_DRAINING:
            fail(error)
        default:
            if failures == 1 || failures % 20 == 0 {
                logger.warning(
                    "fetch failed; retrying",
                    metadata: ["protoqueue.error": "\(error)", "protoqueue.failures": "\(failures)"]
                )
            }
        }
    }

    /// Returns `count` slots; parked deliveries take them first.
    func release(_ count: Int) {
        state.withLock { state in
            let unparked = state.release(count)
            if !unparked.isEmpty { handOff.handOver(unparked) }
        }
    }

    /// Looks at the consumer after the server said it may be gone (`reason`); re-creates it, or stops the
    /// processor with an error naming it. While the server cannot say, the next pull waits (as after a failed one).
    func checkConsumer(after reason: String, jetStream: OpaquePointer) {
        do throws(ProtoqueueError) {
            switch try watch.check(jetStream: jetStream) {
            case .recreated:
                logger.warning(
                    "consumer was deleted while the worker ran; re-created it",
                    metadata: ["protoqueue.consumer": "\(layout.consumerName)", "protoqueue.server": "\(reason)"]
                )
            case .present:
                if reason.hasPrefix("503") { backOff(reason) }
            case .unknown(let error):
                backOff("\(reason); \(error)")
            }
        } catch {
            fail(error)
        }
    }

    private func backOff(_ reason: String) {
        let failures = state.withLock { $0.pullFailed(at: MonotonicClock.nanoseconds()).failures }
        if failures == 1 || failures % 20 == 0 {
            logger.warning(
                "no answer to pull requests; retrying",
                metadata: ["protoqueue.consumer": "\(layout.consumerName)", "protoqueue.server": "\(reason)"]
            )
        }
    }
}
