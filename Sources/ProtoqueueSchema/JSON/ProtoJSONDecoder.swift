@_spi(ProtoqueueGenerated) import ProtoqueueCodec

/// Protobuf bytes → ``JSONValue`` for ``ProtoJSON``, following the protobuf parsing rules: the last value of a
/// singular field wins, occurrences of a message field merge, repeated scalars come packed or not, a field whose wire
/// type does not match its declaration is an unknown field, and unknown fields are left out.
struct ProtoJSONDecoder {
    let schemas: SchemaSet

    /// What was read for one field of a message.
    enum Read {
        case value(JSONValue)
        case message([UInt8])
        case list([JSONValue])
        case map([(key: String, value: JSONValue)])
    }

    func failure(_ type: MessageSchema, _ text: String) -> ProtoqueueError {
        ProtoqueueError(.decodingFailed, "\(type.fullName): \(text)")
    }

    mutating func message(
        _ bytes: ArraySlice<UInt8>, type: MessageSchema, depth: Int
    ) throws(ProtoqueueError) -> JSONValue {
        guard depth <= ProtoqueueDecodingLimits.maximumDepth else {
            throw ProtoqueueError(.nestingTooDeep, "\(type.fullName): messages nest deeper than 100 levels")
        }
        var reads: [Int32: Read] = [:]
        var reader = WireReader(bytes, code: .decodingFailed, what: type.fullName)
        while let (number, value) = try reader.next() {
            guard let field = type.field(number: Int32(bitPattern: number)) else { continue }
            try read(value, field: field, in: type, into: &reads, depth: depth)
        }
        var members: [(key: String, value: JSONValue)] = []
        for field in type.fields.sorted(by: { $0.number < $1.number }) {
            guard let read = reads[field.number] else { continue }
            switch read {
            case .value(let value):
                if isImplicit(field, in: type) && Self.isDefault(value, field: field, schemas: schemas) { continue }
                members.append((field.jsonName, value))
            case .message(let bytes):
                members.append((field.jsonName, try message(bytes[...], type: messageType(field), depth: depth + 1)))
            case .list(let values):
                if !values.isEmpty { members.append((field.jsonName, .array(values))) }
            case .map(let entries):
                if !entries.isEmpty { members.append((field.jsonName, .object(entries))) }
            }
        }
        return .object(members)
    }

    /// Whether `field` has no presence: a proto3 singular field outside a oneof and not `optional`.
    func isImplicit(_ field: FieldSchema, in type: MessageSchema) -> Bool {
        type.isProto3 && field.label == .optional && field.oneof == nil && !field.isProto3Optional
            && field.type != .message
    }

    func messageType(_ field: FieldSchema) throws(ProtoqueueError) -> MessageSchema {
        guard let type = schemas.message(field.typeName) else {
            throw ProtoqueueError(.invalidSchema, "the schemas do not declare message \(field.typeName)")
        }
        return type
    }

    mutating func read(
        _ value: WireReader.Value, field: FieldSchema, in type: MessageSchema, into reads: inout [Int32: Read],
        depth: Int
    ) throws(ProtoqueueError) {
        if field.label == .repeated {
            if field.type == .message, let entry = schemas.message(field.typeName), entry.isMapEntry {
                guard let slice = value.slice else { return }
                let (key, item) = try mapEntry(slice, type: entry, depth: depth)
                guard case .map(var entries) = reads[field.number] ?? .map([]) else { return }
                entries.removeAll { $0.key == key }
                entries.append((key, item))
                reads[field.number] = .map(entries)
                return
            }
            guard case .list(var values) = reads[field.number] ?? .list([]) else { return }
            if case .bytes(let packed) = value, Self.isPackable(field.type) {
                var inner = WireReader(packed, code: .decodingFailed, what: "\(type.fullName).\(field.name)")
                while !inner.isAtEnd {
                    let element: WireReader.Value =
                        switch Self.wireType(field.type) {
                        case 1: .fixed64(try inner.fixed(8))
                        case 5: .fixed32(UInt32(try inner.fixed(4)))
                        default: .varint(try inner.varint())
                        }
                    if let json = try scalar(element, field: field, in: type) { values.append(json) }
                }
            } else if field.type == .message {
                guard let slice = value.slice else { return }
                values.append(try message(slice, type: messageType(field), depth: depth + 1))
            } else if let json = try scalar(value, field: field, in: type) {
                values.append(json)
            }
            reads[field.number] = .list(values)
            return
        }
        if let oneof = field.oneof {
            for member in type.fields where member.oneof == oneof && member.number != field.number {
                reads[member.number] = nil
            }
        }
        if field.type == .message {
            guard let slice = value.slice else { return }
            if case .message(let earlier) = reads[field.number] {
                reads[field.number] = .message(earlier + slice)
            } else {
                reads[field.number] = .message(Array(slice))
            }
        } else if let json = try scalar(value, field: field, in: type) {
            reads[field.number] = .value(json)
        }
    }

    /// A map entry's key (as JSON object keys write it) and value; a missing part is its default.
    mutating func mapEntry(
        _ bytes: ArraySlice<UInt8>, type: MessageSchema, depth: Int
    ) throws(ProtoqueueError) -> (String, JSONValue) {
        guard let keyField = type.field(number: 1), let valueField = type.field(number: 2) else {
            throw ProtoqueueError(.invalidSchema, "map entry \(type.fullName) lacks its key or value field")
        }
        var key: JSONValue?
        var value: JSONValue?
        var messageBytes: [UInt8]?
        var reader = WireReader(bytes, code: .decodingFailed, what: type.fullName)
        while let (number, wire) = try reader.next() {
            if number == 1, let json = try scalar(wire, field: keyField, in: type) { key = json }
            if number == 2 {
                if valueField.type == .message {
                    if let slice = wire.slice { messageBytes = (messageBytes ?? []) + slice }
                } else if let json = try scalar(wire, field: valueField, in: type) {
                    value = json
                }
            }
        }
        if valueField.type == .message {
            value = try message((messageBytes ?? [])[...], type: messageType(valueField), depth: depth + 1)
        }
        let keyText: String =
            switch key ?? Self.defaultValue(keyField) {
            case .string(let text), .number(let text): text
            case .bool(let flag): flag ? "true" : "false"
            default: ""
            }
        return (keyText, value ?? Self.defaultValue(valueField, schemas: schemas))
    }
}
