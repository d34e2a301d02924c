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

    /// Every header, a repeated one reading as its first value (``ReceivedHeaders``). Read from the message's header
    /// block where ``headerBlock(_:)`` finds it and ``NATSHeaderBlock/firstValues(_:expecting:)`` reads it, else by
    /// nats.c.
    /// - Parameter texts: Values the headers probably hold, returned as these strings rather than copies.
    static func firstHeaderValues(_ message: OpaquePointer, expecting texts: [String] = []) -> ReceivedHeaders {
        if let block = headerBlock(message), let values = NATSHeaderBlock.firstValues(block, expecting: texts) {
            return values
        }
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        guard natsMsgHeader_Keys(message, &keys, &count) == NATS_OK, let keys else { return ReceivedHeaders() }
        defer { free(keys) }
        var result = ReceivedHeaders()
        result.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            guard let key = keys[index] else { continue }
            var value: UnsafePointer<CChar>?
            if natsMsgHeader_Get(message, key, &value) == NATS_OK {
                result.append(
                    bytes(of: key) { KnownHeaderText.string($0) },
                    value.map { bytes(of: $0) { KnownHeaderText.string($0, expecting: texts) } } ?? "")
            }
        }
        return result
    }

    /// Whether messages keep their header block as received, between the reply subject and the payload: nats.c
    /// lays a received message out in one allocation as subject, reply subject, header block and payload, each
    /// followed by a 0 (`natsMsg_create`, the same from 2.2 to 3.13); version 3 is the one this library is built
    /// with.
    static let keepsHeaderBlock = nats_GetVersionNumber() >> 16 == 3

    /// The header block of a received message, as nats.c received it, when it is still there to read: the bytes
    /// between the 0 ending the reply subject and the 0 before the payload, starting with `NATS/1.0` and ending in
    /// an empty line. `nil` for a message without a reply subject or headers; a block nats.c has parsed since
    /// (`natsMsgHeader_*`, which writes 0s into it) fails ``NATSHeaderBlock/firstValues(_:expecting:)``.
    static func headerBlock(_ message: OpaquePointer) -> UnsafeRawBufferPointer? {
        guard keepsHeaderBlock, let reply = natsMsg_GetReply(message), let data = natsMsg_GetData(message) else {
            return nil
        }
        let start = UnsafeRawPointer(reply) + strlen(reply) + 1
        let end = UnsafeRawPointer(data) - 1
        guard end - start >= 12, end.load(as: UInt8.self) == 0 else { return nil }
        let block = UnsafeRawBufferPointer(start: start, count: end - start)
        return block.suffix(4).elementsEqual("\r\n\r\n".utf8) ? block : nil
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
    /// The known texts, at the index of their length in bytes.
    private static let byLength: [[(bytes: [UInt8], text: String)]] = {
        let known = [
            WireFormat.Header.messageID, WireFormat.Header.messageType, WireFormat.Header.enqueuedAt,
            WireFormat.Header.version, WireFormat.Header.contentType, WireFormat.contentType, WireFormat.version,
            WireFormat.taskIDHeader, WireFormat.replayedFromHeader, WireFormat.schemaHeader,
            WireFormat.priorityHeader, WireFormat.notBeforeHeader, WireFormat.priorAttemptsHeader,
            WireFormat.startByHeader, WireFormat.timeoutHeader, WireFormat.uniqueKeyHeader,
            WireFormat.uniqueScopeHeader, WireFormat.uniqueLockHeader, "traceparent", "tracestate",
        ]
        var byLength = Array(repeating: [(bytes: [UInt8], text: String)](), count: known.map(\.utf8.count).max()! + 1)
        for text in known { byLength[text.utf8.count].append((Array(text.utf8), text)) }
        return byLength
    }()

    /// `bytes` as a `String`: a known one or one of `texts` when they match, else a new one.
    static func string(_ bytes: UnsafeRawBufferPointer, expecting texts: [String] = []) -> String {
        guard let start = bytes.baseAddress else { return "" }
        let count = bytes.count
        if count < byLength.count {
            for candidate in byLength[count]
            where candidate.bytes.withUnsafeBytes({ memcmp($0.baseAddress!, start, count) == 0 }) {
                return candidate.text
            }
        }
        for var text in texts where text.utf8.count == count {
            if text.withUTF8({ memcmp($0.baseAddress!, start, count) == 0 }) { return text }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `bytes` as a `String`: a known one or one of `texts` when they match, else a new one.
    static func string(_ bytes: UnsafeBufferPointer<UInt8>, expecting texts: [String] = []) -> String {
        string(UnsafeRawBufferPointer(bytes), expecting: texts)
    }
}
