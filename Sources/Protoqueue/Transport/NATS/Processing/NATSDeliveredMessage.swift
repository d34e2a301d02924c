import CNats

/// A JetStream delivery as nats.c gave it: a `natsMsg*` the ``ProcessingHub`` frees once the settlement is on the
/// wire. Stored in a ``Delivery`` without a heap allocation of its own (one word fits an existential's buffer).
struct NATSDeliveredMessage: TransportMessage, @unchecked Sendable {
    let pointer: OpaquePointer  // natsMsg*

    /// The nats.c message of a delivery the hub made.
    static func pointer(of delivery: Delivery) -> OpaquePointer {
        (delivery.message as! NATSDeliveredMessage).pointer
    }

    var subject: String { NATSMessageReader.subject(pointer) }

    /// A reply subject that is not an acknowledgement subject reads as stream sequence 0, attempt 1.
    func read(expecting texts: [String]) -> ReceivedMessage {
        let counts = natsMsg_GetReply(pointer).flatMap { AckSubject.counts(cString: $0) }
        return ReceivedMessage(
            subject: subject, data: NATSMessageReader.body(pointer),
            headers: NATSMessageReader.firstHeaderValues(pointer, expecting: texts),
            deliveries: counts?.deliveries ?? 1,
            streamSequence: counts?.streamSequence ?? 0
        )
    }

    /// From the acknowledgement subject; a reply subject of another shape reads as stream sequence 0 (which no
    /// stored message has), attempt 1.
    func metadata() -> DeliveryMetadata {
        if let reply = natsMsg_GetReply(pointer), let ack = AckSubject(cString: reply) {
            return DeliveryMetadata(
                stream: ack.stream, consumer: ack.consumer, deliveries: ack.deliveries,
                streamSequence: ack.streamSequence
            )
        }
        return DeliveryMetadata(stream: "", consumer: "", deliveries: 1, streamSequence: 0)
    }
}
