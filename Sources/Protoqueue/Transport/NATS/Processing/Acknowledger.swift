import CNats
import Logging

/// Puts settlements on the wire for the ``ProcessingHub`` thread: `+ACK`, `-NAK`, `+WPI` and `+TERM` as publishes
/// to a delivery's reply subject on the batched connection, dead-letter records through the connection's publisher,
/// waiting for the server's acknowledgement before the `+TERM`.
///
/// Dead-letter publishes block; that happens on the hub thread, never on the cooperative pool. (Sending
/// acknowledgements from the handlers' tasks instead was measured slower: the pool threads then contend for
/// nats.c's connection lock.)
struct Acknowledger {
    let rawConnection: OpaquePointer  // natsConnection*, the send-asap one, for confirmed acknowledgements
    let batched: BatchedConnection
    /// For dead-letter records; the hub thread that uses it ends before the client is freed.
    unowned let client: NATSClient
    let requestTimeoutMs: Int64

    /// Sends `+WPI` for a delivery.
    func signalInProgress(_ message: OpaquePointer, engine: ProcessorEngine) {
        let status = reply(to: message, "+WPI")
        if status != NATS_OK {
            engine.logger.debug(
                "in-progress signal failed", metadata: ["protoqueue.status": "\(status.rawValue)"]
            )
        }
    }

    /// Puts `settlement` of `delivery` (whose nats.c message is `message`) on the wire.
    /// - Returns: What the server was told.
    @discardableResult
    func perform(
        _ settlement: Settlement, on message: OpaquePointer, of delivery: Delivery
    ) -> TaskSettlement.Outcome {
        let engine = delivery.engine
        var status = NATS_OK
        var outcome: TaskSettlement.Outcome
        switch settlement {
        case .ack:
            status = reply(to: message, "+ACK", confirmed: engine.confirmedAcks)
            outcome = .acknowledged
        case .nak(let delay):
            status = reply(to: message, delay > .zero ? "-NAK {\"delay\":\(delay.nanoseconds)}" : "-NAK")
            outcome = .retried(after: max(.zero, delay))
        case .discard(let reason):
            status = reply(to: message, "+TERM")
            outcome = .terminated(reason: reason)
        case .deadLetter(let reason, let error, let details):
            let record = delivery.deadLetterRecord(reason: reason, error: error, details: details)
            guard engine.deadLettersEnabled else {
                engine.logger.error(
                    "task failed; dead letters are disabled, so it is terminated and dropped",
                    metadata: [
                        "protoqueue.reason": "\(reason)", "protoqueue.error": "\(error)",
                        "protoqueue.sequence": "\(record.sequence)",
                    ]
                )
                status = reply(to: message, "+TERM")
                outcome = .terminated(reason: "\(reason): \(error) (dead letters are disabled)")
                break
            }
            do throws(ProtoqueueError) {
                try publish(record, original: message, to: engine.layout.deadLetterSubject)
                engine.logger.debug(
                    "task dead-lettered",
                    metadata: [
                        "protoqueue.reason": "\(record.reason)", "protoqueue.sequence": "\(record.sequence)",
                        "protoqueue.attempt": "\(record.attempts)",
                    ]
                )
                status = reply(to: message, "+TERM")
                outcome = .deadLettered(reason: reason, error: record.error)
            } catch {
                // Never lose it: it comes back after a pause and is dead-lettered again (same Nats-Msg-Id, so
                // stored once).
                engine.logger.error(
                    "dead-letter publish failed; the task will be retried",
                    metadata: ["protoqueue.error": "\(error)", "protoqueue.sequence": "\(record.sequence)"]
                )
                status = reply(to: message, "-NAK {\"delay\":1000000000}")
                outcome = .retried(after: .seconds(1))
            }
        }
        if status != NATS_OK {
            engine.logger.warning(
                "acknowledgement failed; the task will be redelivered after the ack wait",
                metadata: [
                    "protoqueue.result": "\(settlement.name)",
                    "protoqueue.status": "\(String(cString: natsStatus_GetText(status)))",
                ]
            )
            outcome = .unsettled(error: String(cString: natsStatus_GetText(status)))
        }
        return outcome
    }

    /// Publishes an acknowledgement to the delivery's reply subject; `confirmed` waits for the server's answer (a
    /// request), as nats.c's `natsMsg_AckSync` does.
    private func reply(to message: OpaquePointer, _ body: String, confirmed: Bool = false) -> natsStatus {
        guard let subject = natsMsg_GetReply(message) else { return NATS_ILLEGAL_STATE }
        var body = body
        return body.withUTF8 { bytes -> natsStatus in
            guard confirmed else {
                return natsConnection_Publish(batched.raw, subject, bytes.baseAddress, Int32(bytes.count))
            }
            var answer: OpaquePointer?
            // On the send-asap connection: a request waits for its answer, and the flusher's millisecond would be
            // added to every confirmed acknowledgement.
            let status = natsConnection_Request(
                &answer, rawConnection, subject, bytes.baseAddress, Int32(bytes.count), requestTimeoutMs
            )
            if let answer { natsMsg_Destroy(answer) }
            return status
        }
    }

    /// Publishes the dead-letter record through the connection's publisher
    /// (``NATSClient/publishAndWait(_:maxAttempts:)``)
    /// and waits for the server to store it. Its `Nats-Msg-Id` is derived from the task's stream and sequence, so a
    /// record sent again (after a timeout, or when the task comes back) is stored once.
    private func publish(
        _ record: DeadLetterRecord, original message: OpaquePointer, to subject: String
    ) throws(ProtoqueueError) {
        let messageID = WireFormat.deadLetterMessageID(stream: record.stream, sequence: record.sequence)
        var headers = record.headers(original: NATSMessageReader.headers(message))
        headers.append((WireFormat.Header.messageID, messageID))
        let prepared = PreparedMessage(
            subject: subject, headers: headers, body: NATSMessageReader.body(message), id: TaskID(messageID))
        _ = try client.publishAndWait(prepared, maxAttempts: 3)
    }
}
