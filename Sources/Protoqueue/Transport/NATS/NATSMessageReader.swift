import CNats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a nats.c message (`natsMsg*`) into Swift values: the only place that walks a message's body and headers.
/// The message stays owned by the caller.
enum NATSMessageReader {
    /// The subject; empty if nats.c has none.
    static func subject(_ message: OpaquePointer) -> String {
        natsMsg_GetSubject(message).map { String(cString: $0) } ?? ""
    }

    /// The reply subject, or `nil` when the message has none (a server status message).
    static func reply(_ message: OpaquePointer) -> String? {
        guard let reply = natsMsg_GetReply(message), reply.pointee != 0 else { return nil }
        return String(cString: reply)
    }

    /// Whether the message has a reply subject (a JetStream delivery has one, a server status message none).
    static func hasReply(_ message: OpaquePointer) -> Bool {
        guard let reply = natsMsg_GetReply(message) else { return false }
        return reply.pointee != 0
    }

    /// A copy of the payload bytes.
    static func body(_ message: OpaquePointer) -> [UInt8] {
        let length = Int(natsMsg_GetDataLength(message))
        guard length > 0, let data = natsMsg_GetData(message) else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }

    /// Every header with all its values, in nats.c's order (a name with two values appears twice).
    static func headers(_ message: OpaquePointer) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        forEachKey(of: message) { key in
            var values: UnsafeMutablePointer<UnsafePointer<CChar>?>?
            var valueCount: Int32 = 0
            guard natsMsgHeader_Values(message, key, &values, &valueCount) == NATS_OK, let values else { return }
            defer { free(values) }
            let name = String(cString: key)
            for index in 0..<Int(valueCount) {
                result.append((name, values[index].map { String(cString: $0) } ?? ""))
            }
        }
        return result
    }

    /// The first value of every header: what a handler or a reader of one field needs, without reading the
    /// rest of a repeated header.
    static func firstHeaderValues(_ message: OpaquePointer) -> [String: String] {
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        guard natsMsgHeader_Keys(message, &keys, &count) == NATS_OK, let keys else { return [:] }
        defer { free(keys) }
        var result: [String: String] = [:]
        result.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            guard let key = keys[index] else { continue }
            var value: UnsafePointer<CChar>?
            if natsMsgHeader_Get(message, key, &value) == NATS_OK {
                result[KnownHeaderText.string(key)] = value.map { KnownHeaderText.string($0) } ?? ""
            }
        }
        return result
    }

    /// The subject's token `fromEnd` places before its last as a number (`7` and `1` for 0 and 1 in
    /// `_INBOX.abc.1.7`), or `nil` when there is no such token or it is not a number.
    static func numericToken(of message: OpaquePointer, fromEnd: Int) -> UInt64? {
        guard let subject = natsMsg_GetSubject(message) else { return nil }
        return bytes(of: subject) { all in
            var end = all.endIndex
            for _ in 0..<fromEnd {
                guard let dot = all[..<end].lastIndex(of: UInt8(ascii: ".")) else { return nil }
                end = dot
            }
            let start = all[..<end].lastIndex(of: UInt8(ascii: ".")).map { $0 + 1 } ?? 0
            return DecimalDigits.value(UnsafeBufferPointer(rebasing: all[start..<end]))
        }
    }

    /// Calls `body` with the bytes of a C string (no terminating 0), without copying them.
    static func bytes<R>(of cString: UnsafePointer<CChar>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let length = strlen(cString)
        return cString.withMemoryRebound(to: UInt8.self, capacity: length) {
            body(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    /// The first value of the header `name`, or `nil` when the message does not have it.
    static func header(_ name: String, of message: OpaquePointer) -> String? {
        var value: UnsafePointer<CChar>?
        guard natsMsgHeader_Get(message, name, &value) == NATS_OK, let value else { return nil }
        return String(cString: value)
    }

    private static func forEachKey(of message: OpaquePointer, _ body: (UnsafePointer<CChar>) -> Void) {
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        guard natsMsgHeader_Keys(message, &keys, &count) == NATS_OK, let keys else { return }
        defer { free(keys) }
        for index in 0..<Int(count) {
            if let key = keys[index] { body(key) }
        }
    }
}

/// The header names and values every task carries, as strings made once: reading a delivery's headers reuses them
/// instead of making a new string (a heap allocation for those over 15 bytes) per delivery.
enum KnownHeaderText {
    private static let known: [(bytes: Int, text: String)] = [
        WireFormat.Header.messageID, WireFormat.Header.messageType, WireFormat.Header.enqueuedAt,
        WireFormat.Header.version, WireFormat.Header.contentType, WireFormat.contentType, WireFormat.version,
        WireFormat.taskIDHeader, "traceparent", "tracestate",
    ].map { ($0.utf8.count, $0) }

    /// `text` as a `String`: a known one when its bytes match, else a new one.
    static func string(_ text: UnsafePointer<CChar>) -> String {
        NATSMessageReader.bytes(of: text) { bytes in
            for entry in known where entry.bytes == bytes.count && entry.text.utf8.elementsEqual(bytes) {
                return entry.text
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
