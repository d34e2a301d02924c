public import ProtoqueueCodec

/// Converts protobuf bytes to the canonical proto3 JSON mapping and back, driven by a ``SchemaSet`` alone (no
/// generated code): field names in lowerCamelCase (`json_name`), 64-bit integers as strings, `bytes` as base64, enums
/// by name, fields at their default omitted, `NaN` and `Infinity` as strings. What a tool uses to show any queue's
/// tasks through the schema registry. `ProtoJSONTests` checks it against Google's `json_format` in Python.
///
/// ## Overview
/// ```swift
/// let codec = ProtoJSON(schemas: try SchemaSet(descriptorSet: EmailTask.protoFileDescriptorSet))
/// let json = try codec.json(fromProtobuf: bytes, message: "protoqueue.examples.EmailTask")
/// // {"to":"ada@example.com","priority":"PRIORITY_HIGH","notBeforeUnix":"1700000000000"}
/// let back = try codec.protobuf(fromJSON: json.text(), message: "protoqueue.examples.EmailTask")
/// ```
/// Well-known types (`google.protobuf.Timestamp` and friends) get no special form: Protoqueue schemas cannot use
/// them. Unknown fields are left out of the JSON, as `json_format` does.
public struct ProtoJSON: Sendable {
    /// The schemas the codec reads messages with.
    public let schemas: SchemaSet

    /// A codec for the messages of `schemas`.
    public init(schemas: SchemaSet) {
        self.schemas = schemas
    }

    /// The JSON form of `bytes`, a message of type `message` (full name).
    /// - Throws: `ProtoqueueError` with code `decodingFailed` naming the field and offset for bytes that are not such
    ///   a message (also past 100 levels of nesting), or `invalidSchema` when the set lacks a type it needs.
    public func json(fromProtobuf bytes: [UInt8], message: String) throws(ProtoqueueError) -> JSONValue {
        var decoder = ProtoJSONDecoder(schemas: schemas)
        return try decoder.message(bytes[...], type: try type(message), depth: 1)
    }

    /// The protobuf bytes of `text`, the JSON form of a message of type `message`: fields by their JSON or `.proto`
    /// name, integers as numbers or strings, enums by name or number, `bytes` in either base64 alphabet, `null` for
    /// a default. Fields are written in number order.
    /// - Throws: `ProtoqueueError` with code `decodingFailed` naming the field for text that is not such a message
    ///   (an unknown field, a value out of range, a string that is not base64, …), or `invalidSchema`.
    public func protobuf(fromJSON text: String, message: String) throws(ProtoqueueError) -> [UInt8] {
        try protobuf(fromJSON: JSONValue(parsing: text), message: message)
    }

    /// The protobuf bytes of a parsed JSON value, as for JSON text.
    public func protobuf(fromJSON value: JSONValue, message: String) throws(ProtoqueueError) -> [UInt8] {
        var encoder = ProtoJSONEncoder(schemas: schemas)
        return try encoder.message(value, type: try type(message), path: message, depth: 1)
    }

    func type(_ name: String) throws(ProtoqueueError) -> MessageSchema {
        guard let type = schemas.message(name) else {
            throw ProtoqueueError(.invalidSchema, "the schemas do not declare message \(name)")
        }
        return type
    }
}
