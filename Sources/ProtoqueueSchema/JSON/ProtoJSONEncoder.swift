@_spi(ProtoqueueGenerated) import ProtoqueueCodec

/// ``JSONValue`` → protobuf bytes for ``ProtoJSON``, accepting what Google's `json_format.Parse` accepts.
struct ProtoJSONEncoder {
    let schemas: SchemaSet

    func failure(_ path: String, _ text: String) -> ProtoqueueError {
        ProtoqueueError(.decodingFailed, "\(path): \(text)")
    }

    mutating func message(
        _ value: JSONValue, type: MessageSchema, path: String, depth: Int
    ) throws(ProtoqueueError) -> [UInt8] {
        guard depth <= ProtoqueueDecodingLimits.maximumDepth else {
            throw ProtoqueueError(.nestingTooDeep, "\(path): messages nest deeper than 100 levels")
        }
        guard case .object(let members) = value else { throw failure(path, "expected a JSON object") }
        var present: [(field: FieldSchema, value: JSONValue)] = []
        var oneofs: [String: String] = [:]
        for (key, member) in members {
            guard let field = type.fields.first(where: { $0.jsonName == key || $0.name == key }) else {
                throw failure(path, "message \(type.fullName) has no field \"\(key)\"")
            }
            guard present.allSatisfy({ $0.field.number != field.number }) else {
                throw failure(path, "field \(field.name) appears twice")
            }
            if case .null = member { continue }
            if let oneof = field.oneof {
                if let other = oneofs[oneof] {
                    throw failure(path, "oneof \(oneof) has two fields set: \(other) and \(field.name)")
                }
                oneofs[oneof] = field.name
            }
            present.append((field, member))
        }
        var writer = WireWriter()
        for (field, member) in present.sorted(by: { $0.field.number < $1.field.number }) {
            try write(member, field: field, in: type, path: "\(path).\(field.jsonName)", depth: depth, to: &writer)
        }
        return writer.bytes
    }

    mutating func write(
        _ value: JSONValue, field: FieldSchema, in type: MessageSchema, path: String, depth: Int,
        to writer: inout WireWriter
    ) throws(ProtoqueueError) {
        guard field.label == .repeated else {
            try single(value, field: field, path: path, depth: depth, to: &writer)
            return
        }
        if field.type == .message, let entry = schemas.message(field.typeName), entry.isMapEntry {
            guard case .object(let entries) = value else { throw failure(path, "expected a JSON object for a map") }
            guard let keyField = entry.field(number: 1), let valueField = entry.field(number: 2) else {
                throw ProtoqueueError(.invalidSchema, "map entry \(entry.fullName) lacks its key or value field")
            }
            for (key, item) in entries {
                var inner = WireWriter()
                try single(
                    mapKey(key, field: keyField, path: path), field: keyField, path: path, depth: depth, to: &inner)
                if case .null = item { throw failure("\(path)[\(key)]", "a map value cannot be null") }
                try single(item, field: valueField, path: "\(path)[\(key)]", depth: depth, to: &inner)
                writer.lengthDelimited(field.number, inner.bytes)
            }
            return
        }
        guard case .array(let elements) = value else { throw failure(path, "expected a JSON array") }
        let packed =
            ProtoJSONDecoder.isPackable(field.type) && (field.packedOption ?? type.isProto3) && !elements.isEmpty
        if packed {
            var inner = WireWriter()
            for (index, element) in elements.enumerated() {
                try scalar(element, field: field, path: "\(path)[\(index)]", to: &inner)
            }
            writer.lengthDelimited(field.number, inner.bytes)
        } else {
            for (index, element) in elements.enumerated() {
                if case .null = element { throw failure("\(path)[\(index)]", "a repeated element cannot be null") }
                try single(element, field: field, path: "\(path)[\(index)]", depth: depth, to: &writer)
            }
        }
    }

    /// One value of `field` with its tag.
    mutating func single(
        _ value: JSONValue, field: FieldSchema, path: String, depth: Int, to writer: inout WireWriter
    ) throws(ProtoqueueError) {
        if field.type == .message {
            guard let type = schemas.message(field.typeName) else {
                throw ProtoqueueError(.invalidSchema, "the schemas do not declare message \(field.typeName)")
            }
            writer.lengthDelimited(field.number, try message(value, type: type, path: path, depth: depth + 1))
            return
        }
        writer.tag(field.number, wireType: ProtoJSONDecoder.wireType(field.type))
        try scalar(value, field: field, path: path, to: &writer)
    }

    /// A map key as its key field's JSON value (object keys are always strings).
    func mapKey(_ key: String, field: FieldSchema, path: String) throws(ProtoqueueError) -> JSONValue {
        switch field.type {
        case .string: return .string(key)
        case .bool:
            guard key == "true" || key == "false" else { throw failure(path, "map key \"\(key)\" is not a bool") }
            return .bool(key == "true")
        default: return .string(key)
        }
    }
}
