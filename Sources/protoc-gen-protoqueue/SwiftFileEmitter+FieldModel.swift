// How a protobuf field becomes a Swift property: kind, type, default, presence.

extension SwiftFileEmitter {
    enum Kind {
        case map(key: ProtoField, value: ProtoField, entry: ProtoMessage)
        case repeated
        case oneofMember(oneof: Int)
        case proto3Optional(oneof: Int)
        case singularMessage
        case proto2Optional
        case implicit
        case required
    }

    func kind(_ field: ProtoField, in message: ProtoMessage) -> Kind {
        if let entry = index.mapEntry(field) {
            let key = entry.fields.first { $0.number == 1 }!
            let value = entry.fields.first { $0.number == 2 }!
            return .map(key: key, value: value, entry: entry)
        }
        if field.label == .repeated { return .repeated }
        if let oneof = field.oneofIndex {
            return field.isProto3Optional ? .proto3Optional(oneof: oneof) : .oneofMember(oneof: oneof)
        }
        if field.type == .message { return .singularMessage }
        if field.label == .required { return .required }
        return file.isProto3 ? .implicit : .proto2Optional
    }

    func isBoxed(_ field: ProtoField, in message: ProtoMessage) -> Bool {
        index.boxedFields.contains("\(message.fullName).\(field.number)")
    }

    /// The Swift type of one value of the field (the element type for repeated fields).
    func valueType(_ field: ProtoField) -> String {
        switch field.type {
        case .double: return "Swift.Double"
        case .float: return "Swift.Float"
        case .int64, .sint64, .sfixed64: return "Swift.Int64"
        case .uint64, .fixed64: return "Swift.UInt64"
        case .int32, .sint32, .sfixed32: return "Swift.Int32"
        case .uint32, .fixed32: return "Swift.UInt32"
        case .bool: return "Swift.Bool"
        case .string: return "Swift.String"
        case .bytes: return "[Swift.UInt8]"
        case .enumeration: return index.enums[field.typeName]!.swiftPath
        case .message, .group: return index.messages[field.typeName]!.swiftPath
        }
    }

    /// The zero value of one value of the field.
    func zeroValue(_ field: ProtoField) -> String {
        switch field.type {
        case .double, .float, .int64, .sint64, .sfixed64, .uint64, .fixed64, .int32, .sint32, .sfixed32,
            .uint32, .fixed32:
            return "0"
        case .bool: return "false"
        case .string: return "\"\""
        case .bytes: return "[]"
        case .enumeration:
            let entry = index.enums[field.typeName]!
            let first = Self.caseNames(entry.enumeration).first { !$0.isAlias }!
            return "\(entry.swiftPath).\(SwiftNaming.escaped(first.name))"
        case .message, .group: return "\(valueType(field))()"
        }
    }

    /// The Swift literal of a proto2 `[default = …]`.
    func defaultLiteral(_ field: ProtoField) -> String? {
        guard let text = field.defaultValue else { return nil }
        switch field.type {
        case .double, .float:
            let type = valueType(field)
            switch text {
            case "inf": return "\(type).infinity"
            case "-inf": return "-\(type).infinity"
            case "nan": return "\(type).nan"
            default: return text
            }
        case .string: return SwiftNaming.stringLiteral(text)
        case .bytes: return "[" + Self.unescapeC(text).map(String.init).joined(separator: ", ") + "]"
        case .enumeration:
            let entry = index.enums[field.typeName]!
            let name = Self.caseNames(entry.enumeration).first { $0.value.name == text }?.name ?? text
            return "\(entry.swiftPath).\(SwiftNaming.escaped(name))"
        default: return text
        }
    }

    /// Decodes protoc's C-escaped text of a `bytes` default.
    static func unescapeC(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        var result: [UInt8] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count else {
                result.append(bytes[i])
                i += 1
                continue
            }
            let c = bytes[i + 1]
            i += 2
            switch c {
            case UInt8(ascii: "n"): result.append(10)
            case UInt8(ascii: "r"): result.append(13)
            case UInt8(ascii: "t"): result.append(9)
            case UInt8(ascii: "x"):
                var value: UInt8 = 0
                while i < bytes.count, let digit = hexDigit(bytes[i]) {
                    value = value &* 16 &+ digit
                    i += 1
                }
                result.append(value)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = c - UInt8(ascii: "0")
                var digits = 1
                while digits < 3, i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "7") {
                    value = value &* 8 &+ (bytes[i] - UInt8(ascii: "0"))
                    i += 1
                    digits += 1
                }
                result.append(value)
            default: result.append(c)
            }
        }
        return result
    }

    static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The oneof enum type name of a message's real oneof.
    func oneofTypeName(_ oneof: ProtoOneof, in message: ProtoMessage) -> String {
        let nested = Set(
            message.nestedMessages.map { SwiftNaming.typeName($0.name) }
                + message.nestedEnums.map { SwiftNaming.typeName($0.name) })
        let name = SwiftNaming.typeName(oneof.name)
        return nested.contains(name) ? name + "Oneof" : name
    }

    /// The declared Swift type of a field's property (nil for members of a real oneof).
    func propertyType(_ field: ProtoField, in message: ProtoMessage) -> String? {
        switch kind(field, in: message) {
        case .map(let key, let value, _): return "[\(valueType(key)): \(valueType(value))]"
        case .repeated: return "[\(valueType(field))]"
        case .oneofMember: return nil
        case .proto3Optional, .singularMessage, .proto2Optional: return valueType(field) + "?"
        case .implicit, .required: return valueType(field)
        }
    }

    func propertyDefault(_ field: ProtoField, in message: ProtoMessage) -> String {
        switch kind(field, in: message) {
        case .map: return "[:]"
        case .repeated: return "[]"
        case .oneofMember, .proto3Optional, .singularMessage, .proto2Optional: return "nil"
        case .implicit: return zeroValue(field)
        case .required: return defaultLiteral(field) ?? zeroValue(field)
        }
    }

    /// Real (non-synthetic) oneofs with their member fields.
    func realOneofs(_ message: ProtoMessage) -> [(index: Int, oneof: ProtoOneof, fields: [ProtoField])] {
        message.oneofs.enumerated().compactMap { position, oneof in
            let fields = message.fields.filter { $0.oneofIndex == position && !$0.isProto3Optional }
            return fields.isEmpty ? nil : (position, oneof, fields)
        }
    }
}
