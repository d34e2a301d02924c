/// A JetStream publish acknowledgement as the server sends it to a publish's reply subject:
/// `{"stream":"tasks","seq":7}`, with `"duplicate":true` when the id was already stored (and optionally `"domain"`),
/// or `{"error":{"code":503,"err_code":10077,"description":"..."}}` when the stream refused the message.
enum PublishAcknowledgement: Equatable {
    /// Stored (or recognised as a duplicate) at `sequence` of `stream`.
    case stored(stream: String, sequence: UInt64, duplicate: Bool)
    /// Refused: the HTTP-like `code`, the JetStream error code and the server's description.
    case refused(code: Int, errorCode: Int, description: String)

    /// Reads an acknowledgement; `nil` when the bytes are not one (not JSON, or neither a sequence nor an error).
    /// Unknown keys are skipped, so fields added by later servers do not break it.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> PublishAcknowledgement? {
        var reader = JSONReader(bytes: bytes)
        var stream = ""
        var sequence: UInt64?
        var duplicate = false
        var refusal: PublishAcknowledgement?
        let read = reader.readObject { key, reader in
            switch key {
            case "stream": stream = reader.readString() ?? ""
            case "seq": sequence = reader.readUnsigned()
            case "duplicate": duplicate = reader.readBool() ?? false
            case "error":
                var code = 0
                var errorCode = 0
                var description = ""
                let ok = reader.readObject { key, reader in
                    switch key {
                    case "code": code = Int(reader.readUnsigned() ?? 0)
                    case "err_code": errorCode = Int(reader.readUnsigned() ?? 0)
                    case "description": description = reader.readString() ?? ""
                    default: return reader.skipValue()
                    }
                    return true
                }
                guard ok else { return false }
                refusal = .refused(code: code, errorCode: errorCode, description: description)
            default: return reader.skipValue()
            }
            return true
        }
        guard read else { return nil }
        if let refusal { return refusal }
        guard let sequence else { return nil }
        return .stored(stream: stream, sequence: sequence, duplicate: duplicate)
    }
}

/// Just enough of a JSON reader for the server's acknowledgements: objects, strings with escapes, unsigned integers,
/// booleans, and skipping any other value (nesting limited to 16 levels).
private struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard current == byte else { return false }
        position += 1
        return true
    }

    /// Reads `{ "key": value, ... }`, calling `member` for each key with the reader positioned on the value;
    /// `member` returns `false` to fail the whole read.
    mutating func readObject(_ member: (String, inout JSONReader) -> Bool) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        if take(UInt8(ascii: "}")) { return true }
        while true {
            guard let key = readString(), take(UInt8(ascii: ":")) else { return false }
            guard member(key, &self) else { return false }
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "}"))
        }
    }

    mutating func readString() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        // Fast path: no escape before the closing quote.
        let start = position
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") { position += 1 }
        if current == UInt8(ascii: "\"") {
            position += 1
            return String(decoding: bytes[start..<position - 1], as: UTF8.self)
        }
        var utf8 = Array(bytes[start..<position])
        while let byte = current {
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escaped = current else { return nil }
                position += 1
                switch escaped {
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "u"):
                    guard position + 4 <= bytes.count,
                        let unit = UInt16(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
                    else {
                        return nil
                    }
                    position += 4
                    // Surrogate halves cannot stand alone; they become U+FFFD (descriptions are for people).
                    utf8.append(contentsOf: String(Unicode.Scalar(unit).map(Character.init) ?? "\u{FFFD}").utf8)
                default: utf8.append(escaped)  // \" \\ \/
                }
            default:
                utf8.append(byte)
            }
        }
        return nil
    }

    mutating func readUnsigned() -> UInt64? {
        skipSpace()
        let start = position
        while let byte = current, DecimalDigits.isDigit(byte) { position += 1 }
        return DecimalDigits.value(
            UnsafeRawBufferPointer(rebasing: bytes[start..<position]).assumingMemoryBound(to: UInt8.self))
    }

    mutating func readBool() -> Bool? {
        skipSpace()
        if matchLiteral("true") { return true }
        if matchLiteral("false") { return false }
        return nil
    }

    private mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[position + offset] != literal.utf8Start[offset] { return false }
        position += count
        return true
    }

    /// Skips one value of any kind.
    mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 16 else { return false }
        skipSpace()
        switch current {
        case UInt8(ascii: "\""):
            return readString() != nil
        case UInt8(ascii: "{"):
            return readObject { _, reader in reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            position += 1
            if take(UInt8(ascii: "]")) { return true }
            while true {
                guard skipValue(depth: depth + 1) else { return false }
                if take(UInt8(ascii: ",")) { continue }
                return take(UInt8(ascii: "]"))
            }
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            return readBool() != nil
        case UInt8(ascii: "n"):
            return matchLiteral("null")
        default:
            // A number: sign, digits, fraction, exponent.
            let start = position
            while let byte = current,
                (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
                    || byte == UInt8(ascii: "E")
            {
                position += 1
            }
            return position > start
        }
    }
}
