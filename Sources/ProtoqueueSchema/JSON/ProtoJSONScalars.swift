@_spi(ProtoqueueGenerated) import ProtoqueueCodec

/// The proto3 JSON form of each scalar type, both ways.
extension ProtoJSONDecoder {
    /// The wire type a field of `type` is written with (2 for strings, bytes and messages).
    static func wireType(_ type: FieldType) -> UInt64 {
        switch type {
        case .double, .fixed64, .sfixed64: 1
        case .float, .fixed32, .sfixed32: 5
        case .string, .bytes, .message, .group: 2
        default: 0
        }
    }

    /// Whether a repeated field of `type` may come packed.
    static func isPackable(_ type: FieldType) -> Bool { wireType(type) != 2 }

    /// The JSON of a floating-point value: a number, or `NaN`, `Infinity`, `-Infinity` as strings.
    static func floating<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F) -> JSONValue {
        if value.isNaN { return .string("NaN") }
        if value.isInfinite { return .string(value < 0 ? "-Infinity" : "Infinity") }
        return .number(value.description)
    }

    /// The JSON of one scalar value of `field`, or `nil` when the wire type does not match the field (an unknown
    /// field, as protobuf parsers treat it) or the value is not a member of a closed (proto2) enum.
    func scalar(
        _ value: WireReader.Value, field: FieldSchema, in type: MessageSchema
    ) throws(ProtoqueueError)
        -> JSONValue?
    {
        switch (field.type, value) {
        case (.double, .fixed64(let bits)): return Self.floating(Double(bitPattern: bits))
        case (.float, .fixed32(let bits)): return Self.floating(Float(bitPattern: bits))
        case (.int64, .varint(let raw)), (.sfixed64, .fixed64(let raw)): return .string(String(Int64(bitPattern: raw)))
        case (.uint64, .varint(let raw)), (.fixed64, .fixed64(let raw)): return .string(String(raw))
        case (.sint64, .varint(let raw)): return .string(String(Int64(bitPattern: raw >> 1) ^ -Int64(raw & 1)))
        case (.int32, .varint(let raw)): return .number(String(Int32(truncatingIfNeeded: raw)))
        case (.uint32, .varint(let raw)): return .number(String(UInt32(truncatingIfNeeded: raw)))
        case (.sint32, .varint(let raw)):
            let bits = UInt32(truncatingIfNeeded: raw)
            return .number(String(Int32(bitPattern: bits >> 1) ^ -Int32(bitPattern: bits & 1)))
        case (.fixed32, .fixed32(let raw)): return .number(String(raw))
        case (.sfixed32, .fixed32(let raw)): return .number(String(Int32(bitPattern: raw)))
        case (.bool, .varint(let raw)): return .bool(raw != 0)
        case (.string, .bytes(let slice)):
            guard let text = String(validating: slice, as: UTF8.self) else {
                throw ProtoqueueError(.decodingFailed, "\(type.fullName).\(field.name): the string is not valid UTF-8")
            }
            return .string(text)
        case (.bytes, .bytes(let slice)): return .string(ProtoqueueBase64.encode(slice))
        case (.enumeration, .varint(let raw)):
            let number = Int32(truncatingIfNeeded: raw)
            guard let enumeration = schemas.enumeration(field.typeName) else {
                throw ProtoqueueError(.invalidSchema, "the schemas do not declare enum \(field.typeName)")
            }
            if let known = enumeration.value(number: number) { return .string(known.name) }
            return enumeration.isProto3 ? .number(String(number)) : nil
        default: return nil
        }
    }

    /// Whether `value` is the default of `field` (what an implicit-presence field leaves out).
    static func isDefault(_ value: JSONValue, field: FieldSchema, schemas: SchemaSet) -> Bool {
        switch value {
        case .bool(let flag): return !flag
        case .string(let text) where field.type == .enumeration:
            return schemas.enumeration(field.typeName)?.value(named: text)?.number == 0
        case .string(let text): return text.isEmpty || (text == "0" && field.type != .string)
        case .number(let text): return text == "0" || text == "0.0"
        default: return false
        }
    }

    /// The JSON of `field`'s default value.
    static func defaultValue(_ field: FieldSchema, schemas: SchemaSet? = nil) -> JSONValue {
        switch field.type {
        case .bool: return .bool(false)
        case .string, .bytes: return .string("")
        case .int64, .uint64, .sint64, .fixed64, .sfixed64: return .string("0")
        case .double, .float: return .number("0")
        case .enumeration:
            let first = schemas?.enumeration(field.typeName)?.values.first
            return first.map { .string($0.name) } ?? .number("0")
        case .message, .group: return .object([])
        default: return .number("0")
        }
    }
}
