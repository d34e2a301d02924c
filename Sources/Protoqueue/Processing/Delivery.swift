#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CNats
import Synchronization

/// What the handler's outcome turns into on the wire.
enum Settlement: Sendable {
    /// `+ACK` (or a confirmed ack, per ``ProcessOptions/AckMode``).
    case ack
    /// `-NAK`, with a delay when it is positive.
    case nak(delay: Duration)
    /// `+TERM` without a dead-letter record.
    case term(reason: String)
    /// Dead-letter record (acknowledged by the server), then `+TERM`.
    case deadLetter(DeadLetterFailure)

    /// The metric/log name of the outcome: `ack`, `nak`, `term` or `dlq`.
    var name: String {
        switch self {
        case .ack: "ack"
        case .nak: "nak"
        case .term: "term"
        case .deadLetter: "dlq"
        }
    }
}

/// Why and how a task failed, for its dead-letter record.
struct DeadLetterFailure: Sendable {
    var reason: DeadLetterReason
    var error: String
    var details: [String: String]
    var attempts: UInt64
    var subject: String
    var stream: String
    var sequence: UInt64
    var consumer: String
}

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

/// One fetched JetStream message, owned by the library until the acknowledgement thread settles and frees it.
/// Exactly one settlement is accepted; `+WPI` signals are accepted only before it.
final class Delivery: @unchecked Sendable {
    let pointer: OpaquePointer  // natsMsg*
    private let settled = Mutex(false)
    private let engine: ProcessorEngine

    init(pointer: OpaquePointer, engine: ProcessorEngine) {
        self.pointer = pointer
        self.engine = engine
    }

    /// Sends `+WPI` (through the acknowledgement thread, in order with the settlement) unless already settled.
    func signalInProgress() {
        settled.withLock { done in
            if !done { engine.enqueue(.inProgress(self)) }
        }
    }

    /// Hands the settlement to the acknowledgement thread; returns `false` if the delivery was settled already.
    @discardableResult
    func settle(_ settlement: Settlement) -> Bool {
        settled.withLock { done -> Bool in
            if done { return false }
            done = true
            engine.enqueue(.settle(self, settlement))
            return true
        }
    }

    /// Reads subject, payload, headers and JetStream metadata. Call before settling (the message is freed after).
    func read() -> ReceivedMessage {
        let message = pointer
        let subject = natsMsg_GetSubject(message).map { String(cString: $0) } ?? ""
        let length = Int(natsMsg_GetDataLength(message))
        var data: [UInt8] = []
        if length > 0, let bytes = natsMsg_GetData(message) {
            data = [UInt8](UnsafeRawBufferPointer(start: bytes, count: length))
        }
        var headers: [String: String] = [:]
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        if natsMsgHeader_Keys(message, &keys, &count) == NATS_OK, let keys {
            headers.reserveCapacity(Int(count))
            for index in 0..<Int(count) {
                guard let key = keys[index] else { continue }
                var value: UnsafePointer<CChar>?
                if natsMsgHeader_Get(message, key, &value) == NATS_OK {
                    headers[String(cString: key)] = value.map { String(cString: $0) } ?? ""
                }
            }
            free(keys)
        }
        var stream = ""
        var consumer = ""
        var sequence: UInt64 = 0
        var deliveries: UInt64 = 1
        let reply = natsMsg_GetReply(message).map { String(cString: $0) } ?? ""
        if let parsed = AckSubject(reply) {
            (stream, consumer, deliveries, sequence) = (parsed.stream, parsed.consumer, parsed.deliveries, parsed.streamSequence)
        } else {
            var meta: UnsafeMutablePointer<jsMsgMetaData>?
            let status = natsMsg_GetMetaData(&meta, message)
            if status == NATS_OK, let meta {
                stream = meta.pointee.Stream.map { String(cString: $0) } ?? ""
                consumer = meta.pointee.Consumer.map { String(cString: $0) } ?? ""
                sequence = meta.pointee.Sequence.Stream
                deliveries = meta.pointee.NumDelivered
                jsMsgMetaData_Destroy(meta)
            } else {
                engine.logger.warning(
                    "cannot read JetStream metadata of a delivery; treating it as attempt 1",
                    metadata: ["protoqueue.reply": "\(reply)", "protoqueue.status": "\(status.rawValue)"]
                )
            }
        }
        return ReceivedMessage(
            subject: subject, data: data, headers: headers, stream: stream, consumer: consumer,
            streamSequence: sequence, deliveries: deliveries
        )
    }

    /// Every header of the message with all its values, in nats.c's order. Runs on a library thread.
    func allHeaders() -> [(String, String)] {
        var result: [(String, String)] = []
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        guard natsMsgHeader_Keys(pointer, &keys, &count) == NATS_OK, let keys else { return result }
        defer { free(keys) }
        for index in 0..<Int(count) {
            guard let key = keys[index] else { continue }
            let name = String(cString: key)
            var values: UnsafeMutablePointer<UnsafePointer<CChar>?>?
            var valueCount: Int32 = 0
            if natsMsgHeader_Values(pointer, key, &values, &valueCount) == NATS_OK, let values {
                for valueIndex in 0..<Int(valueCount) {
                    result.append((name, values[valueIndex].map { String(cString: $0) } ?? ""))
                }
                free(values)
            }
        }
        return result
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
            stream: String(decoding: token(base), as: UTF8.self), consumer: String(decoding: token(base + 1), as: UTF8.self),
            deliveries: deliveries, streamSequence: sequence
        )
    }
}
