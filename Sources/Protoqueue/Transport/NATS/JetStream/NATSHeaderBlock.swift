/// A NATS header block as the JetStream API returns it in `hdrs` (base64): `NATS/1.0` with an optional status,
/// then `Name: value` lines, each ending in CRLF, and an empty line.
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
}
