import Protoqueue

/// A TEST FIXTURE written by hand, without the code generator, so that the wire-format and interop tests do not
/// depend on it. It hand-encodes real protobuf bytes for this schema
/// (Tests/ProtoqueueTests/Fixtures/interop_task.proto):
///
///     package protoqueue.testing;
///     message InteropTask { string to = 1; string subject = 2; int32 priority = 3; repeated string tags = 4; }
///
/// so Python's protobuf decodes what Swift writes and the other way round.
struct InteropTask: ProtoqueueMessage {
    static let protoMessageName = "protoqueue.testing.InteropTask"

    var to = ""
    var subject = ""
    var priority: Int32 = 0
    var tags: [String] = []
    var unknownFields = ProtoqueueUnknownFields()

    init() {}

    init(to: String, subject: String = "", priority: Int32 = 0, tags: [String] = []) {
        self.to = to
        self.subject = subject
        self.priority = priority
        self.tags = tags
    }

    init(serializedBytes bytes: [UInt8]) throws(ProtoqueueError) {
        var reader = Reader(bytes: bytes)
        while !reader.atEnd {
            let key = try reader.varint()
            let number = UInt32(key >> 3)
            let wireType = UInt8(key & 7)
            switch (number, wireType) {
            case (1, 2): to = try reader.string()
            case (2, 2): subject = try reader.string()
            case (3, 0): priority = Int32(truncatingIfNeeded: try reader.varint())
            case (4, 2): tags.append(try reader.string())
            default:
                let payload = try reader.skip(wireType: wireType)
                unknownFields.fields.append(.init(number: number, wireType: wireType, payload: payload))
            }
        }
    }

    func serializedBytes() throws(ProtoqueueError) -> [UInt8] {
        var out: [UInt8] = []
        func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                out.append(UInt8(value & 0x7F) | 0x80)
                value >>= 7
            }
            out.append(UInt8(value))
        }
        func string(_ number: UInt64, _ text: String) {
            varint(number << 3 | 2)
            varint(UInt64(text.utf8.count))
            out.append(contentsOf: text.utf8)
        }
        if !to.isEmpty { string(1, to) }
        if !subject.isEmpty { string(2, subject) }
        if priority != 0 {
            varint(3 << 3)
            varint(UInt64(bitPattern: Int64(priority)))
        }
        for tag in tags { string(4, tag) }
        for field in unknownFields.fields {
            varint(UInt64(field.number) << 3 | UInt64(field.wireType))
            if field.wireType == 2 { varint(UInt64(field.payload.count)) }
            out.append(contentsOf: field.payload)
        }
        return out
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0
        var atEnd: Bool { position >= bytes.count }

        func fail(_ text: String) -> ProtoqueueError {
            ProtoqueueError(.decodingFailed, "\(InteropTask.protoMessageName): \(text) at byte \(position)")
        }

        mutating func varint() throws(ProtoqueueError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard position < bytes.count else { throw fail("truncated varint") }
                let byte = bytes[position]
                position += 1
                guard shift < 64 else { throw fail("varint too long") }
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
        }

        mutating func lengthDelimited() throws(ProtoqueueError) -> [UInt8] {
            let length = try varint()
            guard length <= UInt64(bytes.count - position) else { throw fail("length past the end") }
            defer { position += Int(length) }
            return Array(bytes[position..<position + Int(length)])
        }

        mutating func string() throws(ProtoqueueError) -> String {
            String(decoding: try lengthDelimited(), as: UTF8.self)
        }

        mutating func skip(wireType: UInt8) throws(ProtoqueueError) -> [UInt8] {
            switch wireType {
            case 0:
                let start = position
                _ = try varint()
                return Array(bytes[start..<position])
            case 1, 5:
                let width = wireType == 1 ? 8 : 4
                guard position + width <= bytes.count else { throw fail("truncated fixed field") }
                defer { position += width }
                return Array(bytes[position..<position + width])
            case 2:
                return try lengthDelimited()
            default:
                throw fail("unsupported wire type \(wireType)")
            }
        }
    }
}
