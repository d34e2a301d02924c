/// The JetStream acknowledgement subject of a delivery:
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>` (9 tokens) or, from
/// servers with domains, `$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<stream seq>…` (11 or 12).
struct AckSubject: Equatable {
    var stream: String
    var consumer: String
    var deliveries: UInt64
    var streamSequence: UInt64

    /// The delivery count and stream sequence: what running a task needs, read without making any string.
    struct Counts: Equatable {
        var deliveries: UInt64
        var streamSequence: UInt64
    }

    init?(_ subject: String) {
        var subject = subject
        guard let parsed = subject.withUTF8({ Self.parse($0, names: true) }) else { return nil }
        self = parsed
    }

    /// Parses a C string (a nats.c message's reply subject) without copying it first.
    init?(cString: UnsafePointer<CChar>) {
        guard let parsed = NATSMessageReader.bytes(of: cString, { Self.parse($0, names: true) }) else { return nil }
        self = parsed
    }

    init(stream: String, consumer: String, deliveries: UInt64, streamSequence: UInt64) {
        self.stream = stream
        self.consumer = consumer
        self.deliveries = deliveries
        self.streamSequence = streamSequence
    }

    /// The counts of a C string (a nats.c message's reply subject); `nil` when it is not an acknowledgement subject.
    static func counts(cString: UnsafePointer<CChar>) -> Counts? {
        NATSMessageReader.bytes(of: cString) { parse($0, names: false) }.map {
            Counts(deliveries: $0.deliveries, streamSequence: $0.streamSequence)
        }
    }

    /// Token boundaries over the UTF-8 bytes, kept on the stack: this runs once per delivery. With `names` false,
    /// the stream and consumer are left empty.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, names: Bool) -> AckSubject? {
        // The start of each of the first 12 tokens; `count` goes on counting past them.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 12) { starts -> AckSubject? in
            starts[0] = 0
            var count = 1
            for index in bytes.indices where bytes[index] == UInt8(ascii: ".") {
                if count < 12 { starts[count] = index + 1 }
                count += 1
            }
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
                stream: names ? String(decoding: token(base), as: UTF8.self) : "",
                consumer: names ? String(decoding: token(base + 1), as: UTF8.self) : "",
                deliveries: deliveries, streamSequence: sequence
            )
        }
    }
}
