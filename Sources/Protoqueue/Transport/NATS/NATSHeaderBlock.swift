#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A NATS header block: `NATS/1.0` with an optional status, then `Name: value` lines, each ending in CRLF, and an
/// empty line. The JetStream API returns one in `hdrs` (base64) with a stored message; a delivery carries one ahead
/// of its payload.
enum NATSHeaderBlock {
    /// The fields of `block` in order, a name once per value; the value without the blanks before it. Lines without
    /// a colon, and the status line, are skipped.
    static func fields(_ block: [UInt8]) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        let lines = block.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        for line in lines.dropFirst() {
            var line = line
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            fields.append((String(decoding: line[..<colon], as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return fields
    }

    /// The fields of a block without a status, in order, read as nats.c reads them (the name up to the colon, the
    /// value without the white space around it; a repeated name reads as its first value, ``ReceivedHeaders``), in one
    /// pass and without nats.c's per-field allocations. `nil`
    /// for what this reading does not cover, which the caller leaves to nats.c: a status, a folded line, a line
    /// without a colon or with an empty name or value, or a block not ending in an empty line.
    /// - Parameter texts: Values the block probably holds, returned as these strings rather than copies.
    static func firstValues(_ block: UnsafeRawBufferPointer, expecting texts: [String] = []) -> ReceivedHeaders? {
        guard let base = block.baseAddress?.assumingMemoryBound(to: UInt8.self),
            block.count >= statusLine.count + 2, memcmp(base, statusLine, statusLine.count) == 0
        else { return nil }
        let end = base + block.count
        var values = ReceivedHeaders()
        values.reserveCapacity(12)
        var line = base + statusLine.count
        while true {
            guard let lineEnd = lineEnd(from: line, to: end) else { return nil }
            // The empty line ends the block, and must be its last.
            if lineEnd == line { return lineEnd + 2 == end ? values : nil }
            guard !isSpace(line.pointee),
                let found = memchr(line, Int32(UInt8(ascii: ":")), lineEnd - line),
                case let colon = UnsafePointer(found.assumingMemoryBound(to: UInt8.self)), colon > line
            else { return nil }
            var valueStart = colon + 1
            var valueEnd = lineEnd
            while valueStart < valueEnd, isSpace(valueStart.pointee) { valueStart += 1 }
            while valueEnd > valueStart, isSpace((valueEnd - 1).pointee) { valueEnd -= 1 }
            guard valueEnd > valueStart else { return nil }
            let name = KnownHeaderText.string(UnsafeRawBufferPointer(start: line, count: colon - line))
            let value = KnownHeaderText.string(
                UnsafeRawBufferPointer(start: valueStart, count: valueEnd - valueStart), expecting: texts)
            values.append(name, value)
            line = lineEnd + 2
        }
    }

    /// The first line of a block without a status.
    private static let statusLine = Array("NATS/1.0\r\n".utf8)

    /// Where the line starting at `start` ends: its CR, which an LF follows; `nil` for a CR without one, or none.
    private static func lineEnd(from start: UnsafePointer<UInt8>, to end: UnsafePointer<UInt8>) -> UnsafePointer<UInt8>?
    {
        guard start < end,
            let found = memchr(start, Int32(UInt8(ascii: "\r")), end - start),
            case let cr = UnsafePointer(found.assumingMemoryBound(to: UInt8.self)),
            cr + 1 < end, cr[1] == UInt8(ascii: "\n")
        else { return nil }
        return cr
    }

    /// C's `isspace` in the C locale, which nats.c trims values with.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}
