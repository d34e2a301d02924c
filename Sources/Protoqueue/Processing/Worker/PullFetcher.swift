import CNats
import Foundation
import Logging

/// A processor's fetch thread: sends pull requests for the free slots and hands deliveries over as they arrive.
///
/// Pull requests go to `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` with the processor's inbox as reply subject,
/// for at most the free slots, each expiring after ``ProcessOptions/fetchTimeout``; handlers start on the first
/// tasks of a pull while the server still sends the rest. (nats.c's `natsSubscription_Fetch` returns only once a
/// whole batch is in, and 3.4.1's can overflow its array; it is not used.) The server's status messages end
/// requests (``PullLedger``); a deleted consumer is checked at once (``ConsumerWatch``).
final class PullFetcher: @unchecked Sendable {
    /// What the fetch thread needs from the processor that owns it.
    struct Parts {
        var subscription: OpaquePointer  // natsSubscription* on `inbox`
        var inbox: String
        var batched: BatchedConnection
        var slots: SlotPool
        var handOff: HandOffQueue
        var acknowledger: Acknowledger
        var watch: ConsumerWatch
        /// Stops the processor with an error (the first one wins).
        var fail: @Sendable (ProtoqueueError) -> Void
    }

    private let parts: Parts
    private let connection: NATSConnection
    private let layout: QueueLayout
    private let options: ProcessOptions
    private let logger: Logger
    private let pullSubject: String
    private let exit = ExitSignal()

    /// A pull request's open time beyond its expiry before the fetch thread stops counting on it: the server's
    /// `408` for it normally ends it first, but is lost in a reconnect.
    private static let expiryGrace: UInt64 = 1_000_000_000
    /// The longest the fetch thread blocks at a time, so that it notices a stop or a closing connection.
    private static let readSliceMilliseconds: Int64 = 50

    init(parts: Parts, connection: NATSConnection, layout: QueueLayout, options: ProcessOptions, logger: Logger) {
        self.parts = parts
        self.connection = connection
        self.layout = layout
        self.options = options
        self.logger = logger
        self.pullSubject = "$JS.API.CONSUMER.MSG.NEXT.\(layout.streamName).\(layout.consumerName)"
    }

    func start() {
        let thread = Thread { [self] in
            loop()
            exit.signal()
        }
        thread.name = "protoqueue-fetch-\(layout.consumerName)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Waits for the thread to end (after ``SlotPool/stop()``: at the expiry of its open requests at the latest).
    func finished() async { await exit.wait() }

    private func loop() {
        let expiry = UInt64(max(0, options.fetchTimeout.nanoseconds))
        var ledger = PullLedger()
        var run: [Delivery] = []
        var failures = 0
        while true {
            if connection.isClosing {
                // NATSConnection.close() waits for this processor: stop (handlers still finish and are settled).
                logger.debug("processor stops: the connection is closing")
                parts.fail(
                    ProtoqueueError(
                        .connectionClosed,
                        "the connection was closed while processing consumer \"\(layout.consumerName)\""
                    )
                )
                return
            }
            let now = MonotonicClock.nanoseconds()
            let (stop, free) = parts.slots.waitForRoom(expiry: expiry) { stopping in
                // Stopping gives requests up at their expiry: what the server still sends after that stays
                // unacknowledged and comes back after the ack wait.
                let grace = stopping ? 0 : Self.expiryGrace
                if now > grace { ledger.expire(before: now - grace) }
                return ledger.isEmpty
            }
            let available = free - ledger.outstanding
            if stop {
                // Requests still open may yet deliver: take those (finish() returns them) until the server ends
                // them, at their expiry at the latest.
                if ledger.isEmpty { return }
            } else if available >= parts.slots.lowWater || (ledger.isEmpty && available > 0) {
                let status = pull(available)
                if status == NATS_OK {
                    ledger.requested(available, expiresAt: MonotonicClock.nanoseconds() + expiry)
                } else if !backOff(after: status, failures: &failures) {
                    return
                }
            }
            if ledger.isEmpty { continue }

            let timeout = min(Self.readSliceMilliseconds, options.fetchTimeout.milliseconds)
            var ended: PullEnd?
            let status = read(into: &run, ledger: &ledger, timeoutMilliseconds: timeout, ended: &ended)
            if !run.isEmpty {
                failures = 0
                let admitted = parts.slots.admit(run)
                if !admitted.isEmpty { parts.handOff.handOver(Array(admitted)) }
                run.removeAll(keepingCapacity: true)
            }
            if status == NATS_NO_RESPONDERS {
                ledger.endOldest()
                ended = .noResponders
            }
            if let ended, !stop {
                guard consumerStillServes(after: ended) else { return }
                if case .noResponders = ended, !backOff(after: NATS_NO_RESPONDERS, failures: &failures) { return }
            }
            switch status {
            case NATS_OK, NATS_TIMEOUT, NATS_NO_RESPONDERS:
                break
            default:
                ledger.endOldest()
                if !backOff(after: status, failures: &failures) { return }
            }
        }
    }

    /// Sends one pull request for `count` tasks, expiring after the fetch timeout, and has the batched connection
    /// write it at once (``BatchedConnection/requestWrite()``).
    ///
    /// It travels on the batched connection behind the acknowledgements that freed its slots, so they reach the
    /// socket no later than it does, and no task is delivered into a slot before the acknowledgement that freed it
    /// is written. Whenever the worker dies, the tasks it finished without their acknowledgement having left are
    /// thus at most the `concurrency` slots it held, as with one socket write per acknowledgement.
    private func pull(_ count: Int) -> natsStatus {
        let body = "{\"batch\":\(count),\"expires\":\(max(0, options.fetchTimeout.nanoseconds))}"
        let status = body.withCString {
            natsConnection_PublishRequest(parts.batched.raw, pullSubject, parts.inbox, $0, Int32(strlen($0)))
        }
        if status == NATS_OK { parts.batched.requestWrite() }
        return status
    }

    /// Why the server ended a pull request in a way that may mean the consumer is gone.
    enum PullEnd {
        /// A `409` naming the consumer's deletion.
        case consumerDeleted(String)
        /// A `503`, or nats.c's no-responders status: nobody serves the pull subject.
        case noResponders
    }

    /// Reads what the inbox holds into `run`: waits up to `timeoutMilliseconds` for the first message, then takes
    /// every one already queued. Deliveries count against `ledger`; the server's status messages end requests,
    /// and one that may mean a deleted consumer is reported in `ended`.
    private func read(
        into run: inout [Delivery], ledger: inout PullLedger, timeoutMilliseconds: Int64, ended: inout PullEnd?
    ) -> natsStatus {
        var wait = timeoutMilliseconds
        while true {
            var message: OpaquePointer?
            let status = natsSubscription_NextMsg(&message, parts.subscription, wait)
            guard status == NATS_OK, let message else {
                return run.isEmpty || status != NATS_TIMEOUT ? status : NATS_OK
            }
            wait = 0
            if NATSMessageReader.reply(message) != nil {
                if !ledger.delivered() {
                    logger.debug("delivery for a pull request already given up; it takes the next free slot")
                }
                run.append(Delivery(pointer: message, acknowledger: parts.acknowledger))
            } else {
                if let end = serverStatus(message, ledger: &ledger) { ended = end }
                natsMsg_Destroy(message)
            }
        }
    }

    /// A message from the server about a pull request (no reply subject): `100` idle heartbeat, `404` no
    /// messages, `408` request expired, `409` request given up (consumer deleted, leadership change, server
    /// shutdown, too many waiting requests...), `503` no responders.
    private func serverStatus(_ message: OpaquePointer, ledger: inout PullLedger) -> PullEnd? {
        guard let status = NATSMessageReader.header("Status", of: message) else {
            logger.debug("ignoring a message without a reply subject on the processor's inbox")
            return nil
        }
        if status == "100" { return nil }
        ledger.endOldest()
        switch status {
        case "409":
            let description = NATSMessageReader.header("Description", of: message) ?? ""
            if description.lowercased().contains("consumer deleted") { return .consumerDeleted(description) }
            // Rare, and worth an operator's attention.
            logger.warning(
                "the server ended a pull request",
                metadata: ["protoqueue.status": "\(status)", "protoqueue.description": "\(description)"]
            )
            return nil
        case "503":
            return .noResponders
        default:
            return nil
        }
    }

    /// Checks the consumer after the server said it may be gone; re-creates it when the queue provisions, and
    /// otherwise stops the processor with an error naming it.
    /// - Returns: Whether the fetch thread goes on.
    private func consumerStillServes(after end: PullEnd) -> Bool {
        do throws(ProtoqueueError) {
            switch try parts.watch.check() {
            case .present:
                return true
            case .recreated:
                logger.warning(
                    "consumer was deleted while the worker ran; re-created it",
                    metadata: ["protoqueue.consumer": "\(layout.consumerName)", "protoqueue.server": "\(end)"]
                )
                return true
            }
        } catch {
            logger.error("processor stops: its consumer is gone", metadata: ["protoqueue.error": "\(error)"])
            parts.fail(error)
            return false
        }
    }

    /// Handles a failed pull: a closed connection or subscription stops the processor (`false`); anything else
    /// is logged (the first time and every 20th) and waited out with a growing pause (at most 2 s).
    private func backOff(after status: natsStatus, failures: inout Int) -> Bool {
        let jsCode = status == NATS_NO_RESPONDERS ? NATSErrorMapping.JetStreamCode.consumerNotFound : 0
        let error = NATSErrorMapping.error(
            status: status, jsCode: jsCode, operation: "fetch from consumer \"\(layout.consumerName)\""
        )
        switch status {
        case NATS_CONNECTION_CLOSED, NATS_INVALID_SUBSCRIPTION, NATS_DRAINING:
            logger.error("processor stops: \(error)")
            parts.fail(error)
            return false
        default:
            failures += 1
            if failures == 1 || failures % 20 == 0 {
                logger.warning(
                    "fetch failed; retrying",
                    metadata: ["protoqueue.error": "\(error)", "protoqueue.failures": "\(failures)"]
                )
            }
            parts.slots.pause(milliseconds: min(2000, 50 << min(failures, 6)))
            return true
        }
    }
}
