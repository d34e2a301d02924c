import CNats
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fetched message as plain Swift values.
struct ReceivedMessage: Sendable {
    var subject: String
    var data: [UInt8]
    var headers: [String: String]
    var stream: String
    var consumer: String
    var streamSequence: UInt64
    var deliveries: UInt64
}

/// One fetched JetStream message, owned by the library until the processing hub's thread settles and frees it.
/// Exactly one settlement is accepted; `+WPI` signals are accepted only before it.
final class Delivery: @unchecked Sendable {
    let pointer: OpaquePointer  // natsMsg*
    private let settled = Mutex(false)
    /// The processor it was delivered to.
    let engine: ProcessorEngine
    init(pointer: OpaquePointer, engine: ProcessorEngine) {
        self.pointer = pointer
        self.engine = engine
    }

    /// Sends `+WPI` (through the processing hub's thread, in order with the settlement) unless already settled.
    func signalInProgress() {
        settled.withLock { done in
            if !done { engine.hub.enqueue(.inProgress(self)) }
        }
    }

    /// Hands the settlement to the processing hub's thread; returns `false` if the delivery was settled already.
    @discardableResult
    func settle(_ settlement: Settlement) -> Bool {
        settled.withLock { done -> Bool in
            if done { return false }
            done = true
            engine.hub.enqueue(.settle(self, settlement))
            return true
        }
    }

    /// Reads subject, payload, headers and JetStream metadata. Call before settling (the message is freed after).
    func read() -> ReceivedMessage {
        let (stream, consumer, deliveries, sequence) = metadata()
        return ReceivedMessage(
            subject: NATSMessageReader.subject(pointer), data: NATSMessageReader.body(pointer),
            headers: NATSMessageReader.firstHeaderValues(pointer), stream: stream, consumer: consumer,
            streamSequence: sequence, deliveries: deliveries
        )
    }

    /// The dead-letter record of this delivery failing for `reason`, stamped now. Runs on the processing hub's
    /// thread, before the message is freed.
    func deadLetterRecord(reason: DeadLetterReason, error: String, details: [String: String]) -> DeadLetterRecord {
        let (stream, consumer, deliveries, sequence) = metadata()
        return DeadLetterRecord(
            reason: reason, error: error, details: details, attempts: deliveries,
            subject: NATSMessageReader.subject(pointer), stream: stream, sequence: sequence, consumer: consumer,
            failedAt: WallClock.unixMilliseconds()
        )
    }

    /// Stream, consumer, delivery count and stream sequence, from the acknowledgement subject (or nats.c's
    /// metadata parser when the subject has another shape).
    private func metadata() -> (stream: String, consumer: String, deliveries: UInt64, sequence: UInt64) {
        if let reply = natsMsg_GetReply(pointer), let ack = AckSubject(cString: reply) {
            return (ack.stream, ack.consumer, ack.deliveries, ack.streamSequence)
        }
        let reply = NATSMessageReader.reply(pointer) ?? ""
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        let status = natsMsg_GetMetaData(&meta, pointer)
        guard status == NATS_OK, let meta else {
            engine.logger.warning(
                "cannot read JetStream metadata of a delivery; treating it as attempt 1",
                metadata: ["protoqueue.reply": "\(reply)", "protoqueue.status": "\(status.rawValue)"]
            )
            return ("", "", 1, 0)
        }
        defer { jsMsgMetaData_Destroy(meta) }
        return (
            meta.pointee.Stream.map { String(cString: $0) } ?? "",
            meta.pointee.Consumer.map { String(cString: $0) } ?? "",
            meta.pointee.NumDelivered, meta.pointee.Sequence.Stream
        )
    }
}

/// The JetStream acknowledgement subject of a delivery:
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>` (9 tokens) or, from
/// servers with domains, `$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<stream seq>…` (11 or 12).
struct AckSubject: Equatable {
    var stream: String
    var consumer: String
    var deliveries: UInt64
    var streamSequence: UInt64

    init?(_ subject: String) {
        // Token boundaries over the UTF-8 bytes: this runs once per delivery, and splitting into Strings cost
        // more than the rest of reading the message.
        var subject = subject
        guard let parsed = subject.withUTF8({ Self.parse($0) }) else { return nil }
        self = parsed
    }

    /// Parses a C string (a nats.c message's reply subject) without copying it first.
    init?(cString: UnsafePointer<CChar>) {
        guard let parsed = NATSMessageReader.bytes(of: cString, Self.parse) else { return nil }
        self = parsed
    }

    init(stream: String, consumer: String, deliveries: UInt64, streamSequence: UInt64) {
        self.stream = stream
        self.consumer = consumer
        self.deliveries = deliveries
        self.streamSequence = streamSequence
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> AckSubject? {
        var starts: [Int] = [0]
        starts.reserveCapacity(12)
        for index in bytes.indices where bytes[index] == UInt8(ascii: ".") {
            starts.append(index + 1)
        }
        let count = starts.count
        guard count == 9 || count >= 11 else { return nil }
        func token(_ position: Int) -> UnsafeBufferPointer<UInt8> {
            let end = position + 1 < count ? starts[position + 1] - 1 : bytes.count
            return UnsafeBufferPointer(rebasing: bytes[starts[position]..<end])
        }
        func number(_ position: Int) -> UInt64? {
            let digits = token(position)
            return digits.count <= 20 ? DecimalDigits.value(digits) : nil
        }
        guard token(0).elementsEqual("$JS".utf8), token(1).elementsEqual("ACK".utf8) else { return nil }
        let base = count == 9 ? 2 : 4
        guard let deliveries = number(base + 2), let sequence = number(base + 3) else { return nil }
        return AckSubject(
            stream: String(decoding: token(base), as: UTF8.self),
            consumer: String(decoding: token(base + 1), as: UTF8.self),
            deliveries: deliveries, streamSequence: sequence
        )
    }
}
