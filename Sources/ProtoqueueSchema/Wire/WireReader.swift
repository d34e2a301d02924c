import ProtoqueueCodec

/// Reads protobuf wire-format fields from untrusted bytes: every read is bounds-checked and a malformed input
/// throws `ProtoqueueError` with the given code, naming the byte offset; nothing traps.
struct WireReader {
    /// One field as it appears on the wire.
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    let bytes: ArraySlice<UInt8>
    var offset: Int
    let code: ProtoqueueError.Code
    let what: String

    /// A reader over `bytes`; failures are reported as `code` about `what` ("descriptor set", "task").
    init(_ bytes: ArraySlice<UInt8>, code: ProtoqueueError.Code, what: String) {
        self.bytes = bytes
        self.offset = bytes.startIndex
        self.code = code
        self.what = what
    }

    var isAtEnd: Bool { offset >= bytes.endIndex }

    func failure(_ text: String, at position: Int) -> ProtoqueueError {
        ProtoqueueError(code, "\(what): \(text) at byte \(position - bytes.startIndex)")
    }

    mutating func varint() throws(ProtoqueueError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.endIndex {
            let byte = bytes[offset]
            offset += 1
            if shift < 64 { value |= UInt64(byte & 0x7F) << shift }
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift >= 70 { throw failure("malformed varint (more than 10 bytes)", at: start) }
        }
        throw failure("truncated varint", at: start)
    }

    mutating func fixed(_ width: Int) throws(ProtoqueueError) -> UInt64 {
        guard bytes.endIndex - offset >= width else { throw failure("truncated \(width * 8)-bit value", at: offset) }
        var value: UInt64 = 0
        for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += width
        return value
    }

    /// The next field's number and value, or `nil` at the end of the bytes.
    mutating func next() throws(ProtoqueueError) -> (number: UInt32, value: Value)? {
        guard !isAtEnd else { return nil }
        let start = offset
        let tag = try varint()
        let number = tag >> 3
        guard number >= 1, number <= 536_870_911 else {
            throw failure("field number \(number) out of range", at: start)
        }
        switch tag & 7 {
        case 0: return (UInt32(number), .varint(try varint()))
        case 1: return (UInt32(number), .fixed64(try fixed(8)))
        case 2:
            let lengthStart = offset
            let length = try varint()
            guard length <= UInt64(bytes.endIndex - offset) else {
                throw failure("length \(length) of field \(number) runs past the end", at: lengthStart)
            }
            let slice = bytes[offset..<(offset + Int(length))]
            offset += Int(length)
            return (UInt32(number), .bytes(slice))
        case 5: return (UInt32(number), .fixed32(UInt32(try fixed(4))))
        case let other: throw failure("unsupported wire type \(other) for field \(number)", at: start)
        }
    }
}

extension WireReader.Value {
    /// The field as a string, or `nil` for another wire type. Invalid UTF-8 is repaired (descriptors are
    /// written by protoc, which only emits valid UTF-8).
    var string: String? {
        guard case .bytes(let slice) = self else { return nil }
        return String(decoding: slice, as: UTF8.self)
    }

    var integer: UInt64? {
        if case .varint(let value) = self { return value }
        return nil
    }

    var int32: Int32? { integer.map { Int32(truncatingIfNeeded: $0) } }

    var slice: ArraySlice<UInt8>? {
        if case .bytes(let slice) = self { return slice }
        return nil
    }
}
