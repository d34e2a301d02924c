/// Writes protobuf wire-format fields. Inlinable, so that the library's hand-written encoders
/// (`TaskEventBatchWriter` in `Protoqueue`) write a field without a call per byte.
package struct WireWriter {
    package var bytes: [UInt8] = []

    @inlinable package init() {}

    @inlinable package mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    @inlinable package mutating func tag(_ number: Int32, wireType: UInt64) {
        varint(UInt64(UInt32(bitPattern: number)) << 3 | wireType)
    }

    @inlinable package mutating func fixed(_ value: UInt64, width: Int) {
        for index in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    /// A length-delimited field: tag, length, bytes.
    @inlinable package mutating func lengthDelimited(_ number: Int32, _ payload: [UInt8]) {
        tag(number, wireType: 2)
        varint(UInt64(payload.count))
        bytes += payload
    }

    /// A string field as UTF-8: tag, length, bytes.
    @inlinable package mutating func string(_ number: Int32, _ text: String) {
        tag(number, wireType: 2)
        varint(UInt64(text.utf8.count))
        bytes += text.utf8
    }
}
