import CNats
import Logging
import Synchronization

/// The blocking half of one running processor: an inbox subscription where the queue's durable consumer delivers,
/// and the parts that serve it.
///
/// - ``PullFetcher``, the fetch thread: pull requests for the free slots, deliveries handed over as they arrive.
/// - ``SlotPool``: the concurrency slots tasks hold from fetch to settlement.
/// - ``HandOffQueue``: fetched deliveries waiting for a handler.
/// - ``Acknowledger``, the acknowledgement thread: every `+ACK`, `-NAK`, `+WPI`, `+TERM` and dead-letter record, in
///   order; it returns slots as settlements go out.
/// - ``ConsumerWatch``: re-creates the consumer when the server says it was deleted.
///
/// Acknowledgements and pull requests travel on the connection's ``BatchedConnection``, written to the socket in
/// runs; each pull request asks for an immediate write.
final class ProcessorEngine: Sendable {
    let layout: QueueLayout
    let logger: Logger
    let connection: NATSConnection
    let handOff: HandOffQueue
    private let slots: SlotPool
    private let acknowledger: Acknowledger
    private let fetcher: PullFetcher
    private let fatal: FirstError
    private let listenerToken = Atomic<UInt64>(0)

    private struct Handles: @unchecked Sendable {
        var subscription: OpaquePointer
        var inbox: String
        var ackJetStream: OpaquePointer
        var watchJetStream: OpaquePointer
        var batched: BatchedConnection
    }

    private init(
        connection: NATSConnection, layout: QueueLayout, configuration: QueueConfiguration, options: ProcessOptions,
        logger: Logger, handles: Handles
    ) {
        self.connection = connection
        self.layout = layout
        self.logger = logger
        let slots = SlotPool(concurrency: options.concurrency)
        let handOff = HandOffQueue()
        self.slots = slots
        self.handOff = handOff
        acknowledger = Acknowledger(
            connection: connection, batched: handles.batched, jetStream: handles.ackJetStream, layout: layout,
            configuration: configuration, options: options, logger: logger,
            onSettled: { count in
                let unparked = slots.release(count)
                if !unparked.isEmpty { handOff.handOver(unparked) }
            }
        )
        let watch = ConsumerWatch(jetStream: handles.watchJetStream, layout: layout, configuration: configuration)
        let fatal = FirstError()
        self.fatal = fatal
        let stop: @Sendable () -> Void = {
            slots.stop()
            handOff.close()
        }
        fetcher = PullFetcher(
            parts: PullFetcher.Parts(
                subscription: handles.subscription, inbox: handles.inbox, batched: handles.batched, slots: slots,
                handOff: handOff, acknowledger: acknowledger, watch: watch,
                fail: { error in
                    fatal.record(error)
                    stop()
                }
            ),
            connection: connection, layout: layout, options: options, logger: logger
        )
    }

    /// Checks that the durable consumer exists, subscribes to a new inbox for its deliveries and starts the
    /// threads.
    static func start(
        connection: NATSConnection, layout: QueueLayout, configuration: QueueConfiguration, options: ProcessOptions,
        logger: Logger
    ) async throws(ProtoqueueError) -> ProcessorEngine {
        // Held for the processor's lifetime so that NATSConnection.close() waits for it to stop.
        try connection.beginCall()
        let handles: Handles
        do throws(ProtoqueueError) {
            handles = try await connection.withHandles { rawConnection, _ throws(ProtoqueueError) -> Handles in
                try openHandles(connection: connection, rawConnection: rawConnection, layout: layout)
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
        let token = connection.events.addPermissionListener { [weak engine] violation in
            engine?.permissionViolation(violation)
        }
        engine.listenerToken.store(token, ordering: .relaxed)
        engine.acknowledger.start(cleanup: {
            // Deliveries for requests the server still holds may be arriving: nats.c frees the subscription later.
            connection.retire(handles.subscription)
        })
        engine.fetcher.start()
        return engine
    }

    /// Runs on a connection thread.
    private static func openHandles(
        connection: NATSConnection, rawConnection: OpaquePointer, layout: QueueLayout
    ) throws(ProtoqueueError) -> Handles {
        let requestTimeout = connection.configuration.requestTimeout.milliseconds
        func jetStream() throws(ProtoqueueError) -> OpaquePointer {
            var options = jsOptions()
            jsOptions_Init(&options)
            options.Wait = requestTimeout
            var js: OpaquePointer?
            let status = natsConnection_JetStream(&js, rawConnection, &options)
            guard status == NATS_OK, let js else {
                throw NATSErrorMapping.error(status: status, operation: "create JetStream context for processing")
            }
            return js
        }
        let ackJetStream = try jetStream()
        var owned: [OpaquePointer] = [ackJetStream]
        var handedOver = false
        defer { if !handedOver { owned.forEach { jsCtx_Destroy($0) } } }
        let watchJetStream = try jetStream()
        owned.append(watchJetStream)
        // Nobody answers pull requests for a consumer that does not exist: say so now, by name.
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var jerr = jsErrCode(0)
        var status = js_GetConsumerInfo(&info, ackJetStream, layout.streamName, layout.consumerName, nil, &jerr)
        if let info { jsConsumerInfo_Destroy(info) }
        guard status == NATS_OK else {
            throw NATSErrorMapping.error(
                status: status, jsCode: Int(jerr.rawValue),
                operation: "bind to consumer \"\(layout.consumerName)\" of stream \"\(layout.streamName)\""
            )
        }
        let batched = try connection.batchedConnection()
        var inboxName: UnsafeMutablePointer<natsInbox>?
        status = natsInbox_Create(&inboxName)
        guard status == NATS_OK, let inboxName else {
            throw NATSErrorMapping.error(status: status, operation: "create the processor's inbox")
        }
        let inbox = String(cString: inboxName)
        natsInbox_Destroy(inboxName)
        var subscription: OpaquePointer?
        status = natsConnection_SubscribeSync(&subscription, rawConnection, inbox)
        guard status == NATS_OK, let subscription else {
            throw NATSErrorMapping.error(
                status: status, operation: "subscribe to the processor's inbox \"\(inbox)\"", subject: inbox
            )
        }
        // Pull requests never ask for more than the free slots, so the inbox holds at most `concurrency`.
        natsSubscription_SetPendingLimits(subscription, -1, -1)
        handedOver = true
        return Handles(
            subscription: subscription, inbox: inbox, ackJetStream: ackJetStream, watchJetStream: watchJetStream,
            batched: batched
        )
    }

    private func permissionViolation(_ violation: PermissionViolation) {
        let subject = violation.subject ?? ""
        let relevant = violation.kind == .subscribe || subject.hasPrefix("$JS.ACK.") || subject.hasPrefix("$JS.API.")
        guard relevant else { return }
        let error = NATSErrorMapping.permissionDenied(
            operation: "process queue \"\(layout.streamName)\"", violation: violation
        )
        if fatal.record(error) {
            logger.error("processor stops: \(error)")
            requestStop()
        }
    }

    /// The error that stopped the processor on its own (the connection closed, the consumer is gone), if any.
    var fatalError: ProtoqueueError? { fatal.value }

    /// Stops fetching: the fetch thread exits after its open pull requests, and ``HandOffQueue/next()`` returns
    /// `nil`.
    func requestStop() {
        slots.stop()
        handOff.close()
    }

    /// Waits for the fetch thread, returns unstarted deliveries to the server (`-NAK`, no delay), lets the
    /// acknowledgement thread finish every queued command, then unsubscribes. Call after every handler returned.
    func finish() async {
        requestStop()
        await fetcher.finished()
        let leftovers = handOff.drain() + slots.drainParked()
        if !leftovers.isEmpty {
            logger.debug("returning unstarted tasks to the server", metadata: ["protoqueue.count": "\(leftovers.count)"])
        }
        for delivery in leftovers { delivery.settle(.nak(delay: .zero)) }
        await acknowledger.finish()
        connection.events.removePermissionListener(listenerToken.load(ordering: .relaxed))
        connection.endCall()
    }
}
