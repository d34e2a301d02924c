public import CProtobufC

extension ProtoqueueWireCheck {
    /// Whether `bytes` are structurally well-formed for `descriptor`: every tag a varint of at most 10 bytes naming
    /// a field number in 1…2^29-1, every length inside its message, no group or invalid wire types, and nesting no
    /// deeper than ``ProtoqueueDecodingLimits/maximumDepth``. Allocates nothing and builds no strings; the error
    /// path (``diagnose(_:descriptor:messageName:)``) explains what was wrong.
    ///
    /// protobuf-c 1.4.1 is laxer than the wire format, so a decode that met an unknown field numbered 0 runs this
    /// (recursive schemas run it first, for the depth): protobuf-c accepts a field number 0
    /// written as an overlong varint (`80 00`; it checks only the first byte of a tag), keeps it as an unknown
    /// field and re-encodes it as the invalid tag byte `00`, so a decoded task could not be decoded again after
    /// encoding. Found by the seeded mutation fuzzer (Tests/ProtoqueueReliabilityTests/DecodeFuzzTests.swift).
    @usableFromInline
    static func isWellFormed(_ bytes: [UInt8], descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            wellFormed(buffer, from: 0, to: buffer.count, descriptor: descriptor, depth: 1)
        }
    }

    private static func varint(_ bytes: UnsafeBufferPointer<UInt8>, _ offset: inout Int, _ end: Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < end {
            let byte = bytes[offset]
            offset += 1
            if shift < 64 { value |= UInt64(byte & 0x7F) << shift }
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift >= 70 { return nil }
        }
        return nil
    }

    private static func wellFormed(
        _ bytes: UnsafeBufferPointer<UInt8>,
        from start: Int,
        to end: Int,
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        depth: Int
    ) -> Bool {
        if depth > ProtoqueueDecodingLimits.maximumDepth { return false }
        var offset = start
        while offset < end {
            guard let tag = varint(bytes, &offset, end) else { return false }
            let number = tag >> 3
            guard number > 0, number <= 536_870_911 else { return false }
            switch tag & 7 {
            case 0:
                guard varint(bytes, &offset, end) != nil else { return false }
            case 1:
                guard end - offset >= 8 else { return false }
                offset += 8
            case 5:
                guard end - offset >= 4 else { return false }
                offset += 4
            case 2:
                guard let length = varint(bytes, &offset, end), length <= UInt64(end - offset) else { return false }
                let contentEnd = offset + Int(length)
                if let field = protobuf_c_message_descriptor_get_field(descriptor, UInt32(number)),
                    field.pointee.type == PROTOBUF_C_TYPE_MESSAGE, let sub = field.pointee.descriptor
                {
                    let subDescriptor = sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                    guard wellFormed(bytes, from: offset, to: contentEnd, descriptor: subDescriptor, depth: depth + 1)
                    else {
                        return false
                    }
                }
                offset = contentEnd
            default:
                return false  // groups (3, 4) are not supported; 6 and 7 do not exist
            }
        }
        return true
    }
}
