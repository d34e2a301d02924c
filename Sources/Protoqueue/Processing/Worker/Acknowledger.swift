#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CNats
import Foundation
import Logging

/// A processor's acknowledgement thread: publishes every `+ACK`, `-NAK`, `+WPI`, `+TERM` and dead-letter record in
/// the order handlers queued them, frees the messages and returns their slots.
///
/// Dead-letter publishes block on the server's acknowledgement; that happens here, never on the cooperative pool.
/// (Sending acknowledgements from the handlers' tasks instead was measured slower: the pool threads then contend
/// for nats.c's connection lock.) Plain acknowledgements travel on the connection's ``BatchedConnection``, written
/// to the socket in runs.
final class Acknowledger: @unchecked Sendable {
    enum Command {
        case inProgress(Delivery)
        case settle(Delivery, Settlement)
    }

    private let connection: NATSConnection
    private let batched: BatchedConnection
    private let jetStream: OpaquePointer  // jsCtx*, for dead-letter publishes
    private let layout: QueueLayout
    private let deadLettersEnabled: Bool
    private let confirmed: Bool
    private let requestTimeoutMs: Int64
    let logger: Logger
    /// Called on the acknowledgement thread with the number of slots each run of settlements freed.
    private let onSettled: @Sendable (Int) -> Void

    private let lock = ConditionLock()
    /// Commands the thread lets gather, when busy, before it takes them.
    private static let run = 32
    private var commands: [Command] = []
    private var stopping = false
    private let exit = ExitSignal()

    init(
        connection: NATSConnection, batched: BatchedConnection, jetStream: OpaquePointer, layout: QueueLayout,
        configuration: QueueConfiguration, options: ProcessOptions, logger: Logger,
        onSettled: @escaping @Sendable (Int) -> Void
    ) {
        self.connection = connection
        self.batched = batched
        self.jetStream = jetStream
        self.layout = layout
        self.deadLettersEnabled = configuration.deadLetter.enabled
        self.confirmed = options.ackMode.confirmed
        self.requestTimeoutMs = connection.configuration.requestTimeout.milliseconds
        self.logger = logger
        self.onSettled = onSettled
    }

    /// Starts the thread; `cleanup` runs on it after the last command and the final flush.
    func start(cleanup: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            loop()
            // Acknowledgements leave in runs: make sure the server has the last ones before process() returns.
            batched.flush()
            cleanup()
            jsCtx_Destroy(jetStream)
            exit.signal()
        }
        thread.name = "protoqueue-ack-\(layout.consumerName)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Queues a command.
    func enqueue(_ command: Command) {
        lock.withLock {
            commands.append(command)
            if commands.count == 1 { lock.broadcast() }
        }
    }

    /// Lets the thread finish every queued command, then waits for it to end.
    func finish() async {
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
        await exit.wait()
    }

    private func loop() {
        var batch: [Command] = []
        var settled: [OpaquePointer] = []
        var lastBatch = 0
        while true {
            lock.lock()
            while commands.isEmpty && !stopping { lock.wait() }
            if commands.isEmpty && stopping {
                lock.unlock()
                break
            }
            if lastBatch > 1 && commands.count < Self.run && !stopping {
                // Busy: let a run of commands gather (at most 0.1 ms) rather than waking for each one.
                lock.unlock()
                var pause = timespec(tv_sec: 0, tv_nsec: 100_000)
                nanosleep(&pause, nil)
                lock.lock()
            }
            swap(&batch, &commands)
            lock.unlock()
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
            if settledNow > 0 { onSettled(settledNow) }
            // Freed back to back, 256 at a time or when idle: nats.c frees messages on its garbage-collector thread
            // and wakes it when idle, so one at a time between acknowledgements woke it for nearly every message.
            if settled.count >= 256 || lock.withLock({ commands.isEmpty }) { free(&settled) }
            batch.removeAll(keepingCapacity: true)
        }
        free(&settled)
    }

    private func free(_ messages: inout [OpaquePointer]) {
        for message in messages { natsMsg_Destroy(message) }
        messages.removeAll(keepingCapacity: true)
    }

    private func perform(_ settlement: Settlement, on delivery: Delivery) {
        var status = NATS_OK
        switch settlement {
        case .ack:
            status = reply(to: delivery, "+ACK", confirmed: confirmed)
        case .nak(let delay):
            status = reply(to: delivery, delay > .zero ? "-NAK {\"delay\":\(delay.nanoseconds)}" : "-NAK")
        case .deadLetter(let reason, let error, let details):
            let record = delivery.deadLetterRecord(reason: reason, error: error, details: details)
            guard deadLettersEnabled else {
                logger.error(
                    "task failed; dead letters are disabled, so it is terminated and dropped",
                    metadata: [
                        "protoqueue.reason": "\(reason)", "protoqueue.error": "\(error)",
                        "protoqueue.sequence": "\(record.sequence)",
                    ]
                )
                status = reply(to: delivery, "+TERM")
                break
            }
            do throws(ProtoqueueError) {
                try publish(record, original: delivery)
                status = reply(to: delivery, "+TERM")
            } catch {
                // Never lose it: it comes back after a pause and is dead-lettered again (same Nats-Msg-Id, so
                // stored once).
                logger.error(
                    "dead-letter publish failed; the task will be retried",
                    metadata: ["protoqueue.error": "\(error)", "protoqueue.sequence": "\(record.sequence)"]
                )
                status = reply(to: delivery, "-NAK {\"delay\":1000000000}")
            }
        }
        if status != NATS_OK {
            logger.warning(
                "acknowledgement failed; the task will be redelivered after the ack wait",
                metadata: [
                    "protoqueue.result": "\(settlement.name)",
                    "protoqueue.status": "\(String(cString: natsStatus_GetText(status)))",
                ]
            )
        }
    }

    /// Publishes an acknowledgement to the delivery's reply subject; `confirmed` waits for the server's answer (a
    /// request), as nats.c's `natsMsg_AckSync` does.
    private func reply(to delivery: Delivery, _ body: String, confirmed: Bool = false) -> natsStatus {
        guard let subject = natsMsg_GetReply(delivery.pointer) else { return NATS_ILLEGAL_STATE }
        var body = body
        return body.withUTF8 { bytes -> natsStatus in
            guard confirmed else {
                return natsConnection_Publish(batched.raw, subject, bytes.baseAddress, Int32(bytes.count))
            }
            var answer: OpaquePointer?
            // On the send-asap connection: a request waits for its answer, and the flusher's millisecond would be
            // added to every confirmed acknowledgement.
            let status = natsConnection_Request(
                &answer, connection.rawConnection, subject, bytes.baseAddress, Int32(bytes.count), requestTimeoutMs
            )
            if let answer { natsMsg_Destroy(answer) }
            return status
        }
    }

    /// Publishes the dead-letter record and waits for the server to store it.
    private func publish(_ record: DeadLetterRecord, original: Delivery) throws(ProtoqueueError) {
        let headers = record.headers(original: NATSMessageReader.headers(original.pointer))
        let message = original.pointer
        let length = Int(natsMsg_GetDataLength(message))
        var pointer: OpaquePointer?
        let subject = layout.deadLetterSubject
        var status = natsMsg_Create(&pointer, subject, nil, length > 0 ? natsMsg_GetData(message) : nil, Int32(length))
        guard status == NATS_OK, let pointer else {
            throw NATSErrorMapping.error(status: status, operation: "create dead-letter record")
        }
        defer { natsMsg_Destroy(pointer) }
        for (key, value) in headers {
            status = natsMsgHeader_Add(pointer, key, value)
            if status != NATS_OK { throw NATSErrorMapping.error(status: status, operation: "set dead-letter header \(key)") }
        }
        var pubOptions = jsPubOptions()
        jsPubOptions_Init(&pubOptions)
        pubOptions.MaxWait = requestTimeoutMs
        let messageID = WireFormat.deadLetterMessageID(stream: record.stream, sequence: record.sequence)
        var ack: UnsafeMutablePointer<jsPubAck>?
        var jerr = jsErrCode(0)
        status = messageID.withCString { id in
            pubOptions.MsgId = id
            return js_PublishMsg(&ack, jetStream, pointer, &pubOptions, &jerr)
        }
        if let ack { jsPubAck_Destroy(ack) }
        guard status == NATS_OK else {
            throw NATSErrorMapping.error(
                status: status, jsCode: Int(jerr.rawValue), operation: "publish dead-letter record to \"\(subject)\"",
                subject: subject
            )
        }
        logger.debug(
            "task dead-lettered",
            metadata: [
                "protoqueue.reason": "\(record.reason)", "protoqueue.sequence": "\(record.sequence)",
                "protoqueue.attempt": "\(record.attempts)",
            ]
        )
    }
}
