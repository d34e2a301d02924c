import CNats
import Logging

/// Puts settlements on the wire for the ``ProcessingHub`` thread: `+ACK`, `-NAK`, `+WPI` and `+TERM` as publishes
/// to a delivery's reply subject on the batched connection, dead-letter records and scheduled copies through the
/// connection's publisher, waiting for the server's acknowledgement before the `+TERM` or `+ACK`.
///
/// Those publishes block; that happens on the hub thread, never on the cooperative pool. (Sending
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

    /// Puts `settlement` of `delivery` (whose nats.c message is `message`) on the wire
    /// (``SettlementWire/perform(_:of:)``).
    /// - Returns: What the server was told.
    @discardableResult
    func perform(
        _ settlement: Settlement, on message: OpaquePointer, of delivery: Delivery
    ) -> TaskSettlement.Outcome {
        Wire(acknowledger: self, message: message).perform(settlement, of: delivery)
    }

    /// The wire of one nats.c delivery.
    private struct Wire: SettlementWire {
        let acknowledger: Acknowledger
        let message: OpaquePointer

        func acknowledge(confirmed: Bool) -> String? {
            Self.text(acknowledger.reply(to: message, "+ACK", confirmed: confirmed))
        }

        func negativelyAcknowledge(delay: Duration) -> String? {
            Self.text(
                acknowledger.reply(to: message, delay > .zero ? "-NAK {\"delay\":\(delay.nanoseconds)}" : "-NAK"))
        }

        func terminate() -> String? { Self.text(acknowledger.reply(to: message, "+TERM")) }

        /// Nothing on the wire: the server's ack wait has run out, and it delivers the task again by itself.
        func leave() {}

        func originalHeaders() -> [(name: String, value: String)] { NATSMessageReader.headers(message) }

        func originalBody() -> [UInt8] { NATSMessageReader.body(message) }

        /// Publishes through the connection's publisher (``NATSClient/publishAndWait(_:maxAttempts:)``).
        func publishAndWait(_ message: PreparedMessage) throws(ProtoqueueError) {
            _ = try acknowledger.client.publishAndWait(message, maxAttempts: 3)
        }

        private static func text(_ status: natsStatus) -> String? {
            status == NATS_OK ? nil : String(cString: natsStatus_GetText(status))
        }
    }

    /// Publishes an acknowledgement to the delivery's reply subject; `confirmed` waits for the server's answer (a
    /// request), as nats.c's `natsMsg_AckSync` does.
    fileprivate func reply(to message: OpaquePointer, _ body: String, confirmed: Bool = false) -> natsStatus {
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
}
