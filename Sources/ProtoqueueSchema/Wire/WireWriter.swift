/// Writes protobuf wire-format fields.
struct WireWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func tag(_ number: Int32, wireType: UInt64) {
        varint(UInt64(UInt32(bitPattern: number)) << 3 | wireType)
    }

    mutating func fixed(_ value: UInt64, width: Int) {
        for index in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    /// A length-delimited field: tag, length, bytes.
    mutating func lengthDelimited(_ number: Int32, _ payload: [UInt8]) {
        tag(number, wireType: 2)
        varint(UInt64(payload.count))
        bytes += payload
    }
}
