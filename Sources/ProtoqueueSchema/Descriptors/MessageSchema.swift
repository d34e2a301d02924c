/// A protobuf field type, numbered as in `google.protobuf.FieldDescriptorProto.Type`.
public enum FieldType: Int32, Sendable, Hashable, CustomStringConvertible {
    case double = 1, float, int64, uint64, int32, fixed64, fixed32, bool, string, group, message, bytes
    case uint32, enumeration, sfixed32, sfixed64, sint32, sint64

    /// The type as written in a `.proto` file (`enum` and `message` for those).
    public var description: String { Self.names[Int(rawValue) - 1] }

    static let names = [
        "double", "float", "int64", "uint64", "int32", "fixed64", "fixed32", "bool", "string", "group", "message",
        "bytes", "uint32", "enum", "sfixed32", "sfixed64", "sint32", "sint64",
    ]
}

/// A field's cardinality, numbered as in `google.protobuf.FieldDescriptorProto.Label`.
public enum FieldLabel: Int32, Sendable, Hashable {
    case optional = 1, required, repeated
}

/// A half-open range of field or enum numbers (`start..<end`) that a schema reserves.
public typealias ReservedNumbers = Range<Int64>

/// One field of a message.
public struct FieldSchema: Sendable, Hashable {
    /// The field's name in the `.proto` file.
    public var name: String
    /// The field number.
    public var number: Int32
    /// Its cardinality.
    public var label: FieldLabel
    /// Its type.
    public var type: FieldType
    /// The full name of its message or enum type (no leading dot), empty for scalars.
    public var typeName: String
    /// The name of its `oneof`, when it belongs to a real one (not a proto3 `optional`).
    public var oneof: String?
    /// Whether it is a proto3 `optional` field (explicit presence).
    public var isProto3Optional: Bool
    /// Its proto3 JSON name (`json_name`, as protoc computes it).
    public var jsonName: String
    /// The `packed` option as written, when it is.
    public var packedOption: Bool?

    /// The field as a `.proto` declaration: `repeated int64 ids = 3`.
    public var declaration: String {
        let type = typeName.isEmpty ? type.description : typeName
        let label =
            switch label {
            case .repeated: "repeated "
            case .required: "required "
            case .optional: isProto3Optional ? "optional " : ""
            }
        return "\(oneof.map { "(oneof \($0)) " } ?? "")\(label)\(type) \(name) = \(number)"
    }
}

/// One message type.
public struct MessageSchema: Sendable, Hashable {
    /// The full name, package included (`acme.reports.ScheduledReport`).
    public var fullName: String
    /// Its fields, in declaration order.
    public var fields: [FieldSchema]
    /// The numbers it reserves.
    public var reservedNumbers: [ReservedNumbers]
    /// The names it reserves.
    public var reservedNames: [String]
    /// Whether it is the synthetic entry type of a `map` field.
    public var isMapEntry: Bool
    /// Whether its file is proto3 (implicit presence and packed repeated scalars by default).
    public var isProto3: Bool

    /// The field with `number`, if any.
    public func field(number: Int32) -> FieldSchema? { fields.first { $0.number == number } }
    /// The field called `name`, if any.
    public func field(named name: String) -> FieldSchema? { fields.first { $0.name == name } }
    /// Whether `number` is reserved.
    public func reserves(_ number: Int32) -> Bool { reservedNumbers.contains { $0.contains(Int64(number)) } }
}

/// One enum type.
public struct EnumSchema: Sendable, Hashable {
    /// One named value.
    public struct Value: Sendable, Hashable {
        /// Its name in the `.proto` file.
        public var name: String
        /// Its number.
        public var number: Int32
    }

    /// The full name, package included.
    public var fullName: String
    /// Its values, in declaration order.
    public var values: [Value]
    /// The numbers it reserves (inclusive ranges in the `.proto` file, stored here as half-open ranges).
    public var reservedNumbers: [ReservedNumbers]
    /// The names it reserves.
    public var reservedNames: [String]
    /// Whether its file is proto3 (open enum: unknown numbers are kept).
    public var isProto3: Bool

    /// The first value with `number` (an alias may share it), if any.
    public func value(number: Int32) -> Value? { values.first { $0.number == number } }
    /// The value called `name`, if any.
    public func value(named name: String) -> Value? { values.first { $0.name == name } }
    /// Whether `number` is reserved.
    public func reserves(_ number: Int32) -> Bool { reservedNumbers.contains { $0.contains(Int64(number)) } }
}
