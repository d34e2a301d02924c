public import CProtobufC

/// A protobuf wire-format walker driven by protobuf-c's runtime descriptors. It checks nesting depth before
/// protobuf-c (which has no recursion limit) unpacks a recursive schema, and explains on the error path why
/// protobuf-c rejected some bytes. Generated code only.
@_spi(ProtoqueueGenerated)
public enum ProtoqueueWireCheck {
    /// What the walker found wrong.
    struct Problem: Error {
        var code: ProtoqueueError.Code
        var message: String
    }

    /// The error for bytes protobuf-c refused, naming the message type and, when the walker can tell, what was
    /// wrong and where.
    public static func diagnose(
        _ bytes: [UInt8],
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        messageName: String
    ) -> ProtoqueueError {
        guard let problem = walk(bytes, descriptor: descriptor) else {
            return ProtoqueueError(.decodingFailed, "\(messageName): protobuf-c rejected the \(bytes.count) bytes")
        }
        return ProtoqueueError(problem.code, "\(messageName): \(problem.message)")
    }

    static func walk(
        _ bytes: [UInt8],
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    ) -> Problem? {
        bytes.withUnsafeBufferPointer { buffer -> Problem? in
            var walker = Walker(bytes: buffer)
            do throws(Problem) {
                try walker.message(from: 0, to: buffer.count, descriptor: descriptor, depth: 1, path: "")
                return nil
            } catch {
                return error
            }
        }
    }

    struct Walker {
        let bytes: UnsafeBufferPointer<UInt8>

        func varint(at offset: inout Int, end: Int, what: @autoclosure () -> String) throws(Problem) -> UInt64 {
            let start = offset
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while offset < end {
                let byte = bytes[offset]
                offset += 1
                if shift < 64 { value |= UInt64(byte & 0x7F) << shift }
                if byte & 0x80 == 0 { return value }
                shift += 7
                if shift >= 70 {
                    throw Problem(
                        code: .decodingFailed,
                        message: "malformed varint (more than 10 bytes) \(what()) at byte \(start)")
                }
            }
            throw Problem(code: .decodingFailed, message: "truncated varint \(what()) at byte \(start)")
        }

        static func expectedWireType(_ type: ProtobufCType) -> UInt64 {
            switch type {
            case PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_FLOAT: return 5
            case PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE: return 1
            case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_BYTES, PROTOBUF_C_TYPE_MESSAGE: return 2
            default: return 0
            }
        }

        mutating func message(
            from start: Int,
            to end: Int,
            descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
            depth: Int,
            path: String
        ) throws(Problem) {
            if depth > ProtoqueueDecodingLimits.maximumDepth {
                throw Problem(
                    code: .nestingTooDeep,
                    message: "messages nest deeper than \(ProtoqueueDecodingLimits.maximumDepth) levels (at \(path))")
            }
            var seen: Set<UInt32> = []
            var offset = start
            while offset < end {
                let tagOffset = offset
                let tag = try varint(at: &offset, end: end, what: "(field tag)")
                let number = tag >> 3
                let wireType = tag & 7
                guard number > 0, number <= 536_870_911 else {
                    throw Problem(code: .decodingFailed, message: "invalid field number \(number) at byte \(tagOffset)")
                }
                let field = protobuf_c_message_descriptor_get_field(descriptor, UInt32(number))
                let fieldName = field.map { String(cString: $0.pointee.name) }
                let label = fieldName.map { "field \(number) (\($0))" } ?? "unknown field \(number)"
                if let field {
                    seen.insert(UInt32(number))
                    let expected = Self.expectedWireType(field.pointee.type)
                    let packable = field.pointee.label == PROTOBUF_C_LABEL_REPEATED && expected != 2
                    if wireType != expected && !(packable && wireType == 2) {
                        throw Problem(
                            code: .decodingFailed,
                            message: "\(label) has wire type \(wireType), expected \(expected), at byte \(tagOffset)")
                    }
                }
                switch wireType {
                case 0:
                    _ = try varint(at: &offset, end: end, what: "for \(label)")
                case 1, 5:
                    let width = wireType == 1 ? 8 : 4
                    guard end - offset >= width else {
                        throw Problem(
                            code: .decodingFailed,
                            message: "truncated \(width)-byte value for \(label) at byte \(offset)")
                    }
                    offset += width
                case 2:
                    let lengthOffset = offset
                    let length = try varint(at: &offset, end: end, what: "(length of \(label))")
                    guard length <= UInt64(end - offset) else {
                        throw Problem(
                            code: .decodingFailed,
                            message: "\(label): length \(length) at byte \(lengthOffset) runs past the end "
                                + "(\(end - offset) bytes left)")
                    }
                    let contentEnd = offset + Int(length)
                    if let field, field.pointee.type == PROTOBUF_C_TYPE_MESSAGE, let sub = field.pointee.descriptor {
                        let subDescriptor = sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                        try message(
                            from: offset, to: contentEnd, descriptor: subDescriptor, depth: depth + 1,
                            path: path.isEmpty ? fieldName! : "\(path).\(fieldName!)")
                    }
                    offset = contentEnd
                case 3, 4:
                    throw Problem(
                        code: .decodingFailed,
                        message:
                            "group wire type \(wireType) for \(label) at byte \(tagOffset) (groups are not supported)")
                default:
                    throw Problem(
                        code: .decodingFailed,
                        message: "invalid wire type \(wireType) for \(label) at byte \(tagOffset)")
                }
            }
            for field in UnsafeBufferPointer(start: descriptor.pointee.fields, count: Int(descriptor.pointee.n_fields))
            where field.label == PROTOBUF_C_LABEL_REQUIRED && !seen.contains(field.id) {
                let name = String(cString: descriptor.pointee.name)
                throw Problem(
                    code: .decodingFailed,
                    message: "missing required field \(String(cString: field.name)) (number \(field.id)) of \(name)"
                        + (path.isEmpty ? "" : " at \(path)"))
            }
        }
    }
}
