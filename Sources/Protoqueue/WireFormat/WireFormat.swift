/// Names and rules of the Protoqueue wire format (see `docs/wire-format.md`, version 1).
public enum WireFormat {
    /// The wire-format version this library writes in ``Header/version``.
    public static let version = "1"
    /// The value of the `Content-Type` header: the body is one protobuf-encoded message, no envelope.
    public static let contentType = "application/x-protobuf"
    /// The prefix of every metadata header: metadata key `tenant` travels as `Protoqueue-Meta-tenant`.
    public static let metadataPrefix = "Protoqueue-Meta-"
    /// Whether `subject` matches the NATS subject `filter` (`*` one token, `>` one or more trailing tokens).
    static func subject(_ subject: String, matches filter: String) -> Bool {
        tokens(
            subject.split(separator: ".", omittingEmptySubsequences: false),
            match: filter.split(separator: ".", omittingEmptySubsequences: false))
    }

    /// Whether a subject's tokens match a filter's.
    static func tokens(_ subject: [Substring], match pattern: [Substring]) -> Bool {
        for (index, token) in pattern.enumerated() {
            if token == ">" { return subject.count > index }
            guard index < subject.count, token == "*" || token == subject[index] else { return false }
        }
        return pattern.count == subject.count
    }

    /// The JetStream header that makes a publish conditional on the last sequence of its subject (0: none).
    static let expectedLastSubjectSequenceHeader = "Nats-Expected-Last-Subject-Sequence"

    /// Header names.
    public enum Header {
        /// The task id; JetStream drops a second message with the same id inside the duplicate window.
        public static let messageID = "Nats-Msg-Id"
        /// The full protobuf name of the body's message type, e.g. `protoqueue.examples.EmailTask`.
        public static let messageType = "Protoqueue-Type"
        /// When the task was enqueued: Unix time in milliseconds, decimal ASCII.
        public static let enqueuedAt = "Protoqueue-Enqueued-At"
        /// The wire-format version (`1`).
        public static let version = "Protoqueue-Version"
        /// `application/x-protobuf`.
        public static let contentType = "Content-Type"
    }

    /// Bytes that headers add to a message as nats.c encodes them: `NATS/1.0\r\n`, one `key: value\r\n` per header,
    /// then `\r\n`. The server's `max_payload` counts these plus the body.
    static func encodedHeaderSize(_ headers: [(String, String)]) -> Int {
        guard !headers.isEmpty else { return 0 }
        var size = "NATS/1.0\r\n".utf8.count + 2
        for (key, value) in headers {
            size += key.utf8.count + 2 + value.utf8.count + 2
        }
        return size
    }
}

extension WireFormat {
    /// Writes the encoded header block of `headers` (none when empty) and then `body` into `buffer` from `offset`.
    /// `buffer` must have room for ``encodedHeaderSize(_:)`` plus the body.
    /// - Returns: The offset after the body.
    static func encode(
        headers: [(String, String)], body: [UInt8], into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int
    ) -> Int {
        var writer = ByteWriter(buffer: buffer, offset: offset)
        if !headers.isEmpty {
            writer.append("NATS/1.0\r\n")
            for (key, value) in headers {
                writer.append(key)
                writer.append(": ")
                writer.append(value)
                writer.append("\r\n")
            }
            writer.append("\r\n")
        }
        body.withUnsafeBufferPointer { writer.append($0) }
        return writer.offset
    }
}

/// A task ready to become a nats.c message: validated subject, headers and body.
struct PreparedMessage: Sendable {
    let subject: String
    let headers: [(String, String)]
    let body: [UInt8]
    let id: TaskID
    /// Bytes of the encoded header block (``WireFormat/encodedHeaderSize(_:)``), computed once.
    let headerSize: Int

    init(subject: String, headers: [(String, String)], body: [UInt8], id: TaskID) {
        self.subject = subject
        self.headers = headers
        self.body = body
        self.id = id
        self.headerSize = WireFormat.encodedHeaderSize(headers)
    }

    var totalSize: Int { body.count + headerSize }
}

/// A reply subject `<prefix><token>`: an inbox prefix ending in `.` and a decimal number, written without
/// building a string.
struct ReplySubject {
    /// The prefix bytes, `.` included.
    let prefix: [UInt8]
    /// The number that ends the subject.
    let token: Int
    /// The subject's length in bytes.
    let byteCount: Int

    init(prefix: [UInt8], token: Int) {
        self.prefix = prefix
        self.token = token
        var digits = 1
        var rest = token / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        self.byteCount = prefix.count + digits
    }

    /// Writes the subject at the start of `buffer` and returns its length.
    func write(into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        prefix.withUnsafeBufferPointer { prefix in
            _ = UnsafeMutableBufferPointer(rebasing: buffer[0..<prefix.count]).initialize(from: prefix)
        }
        var rest = token
        var position = byteCount
        repeat {
            position -= 1
            buffer[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        } while rest > 0
        return byteCount
    }
}

/// Appends bytes to a buffer that is known to be large enough.
private struct ByteWriter {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var offset = 0

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        (buffer.baseAddress! + offset).update(from: base, count: bytes.count)
        offset += bytes.count
    }

    mutating func append(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ append($0) }) == nil {
            for byte in text.utf8 {
                buffer[offset] = byte
                offset += 1
            }
        }
    }
}
