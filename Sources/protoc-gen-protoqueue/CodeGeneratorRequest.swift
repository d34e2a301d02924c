import CProtoDescriptors

/// The protobuf field types, numbered as in `google.protobuf.FieldDescriptorProto.Type`.
enum ProtoFieldType: Int32 {
    case double = 1, float, int64, uint64, int32, fixed64, fixed32, bool, string, group, message, bytes
    case uint32, enumeration, sfixed32, sfixed64, sint32, sint64
}

/// A field label, numbered as in `google.protobuf.FieldDescriptorProto.Label`.
enum ProtoLabel: Int32 {
    case optional = 1, required, repeated
}

/// A field of a message, read from its `FieldDescriptorProto`.
struct ProtoField {
    var name: String
    var number: Int32
    var label: ProtoLabel
    var type: ProtoFieldType
    /// The full name of the message or enum type, without the leading dot.
    var typeName: String
    var defaultValue: String?
    var oneofIndex: Int?
    var isProto3Optional: Bool
    var comment: String?
}

/// A `oneof` declaration.
struct ProtoOneof {
    var name: String
    var comment: String?
}

/// A message type with its nested types, read from its `DescriptorProto`.
struct ProtoMessage {
    var name: String
    var fullName: String
    var fields: [ProtoField]
    var oneofs: [ProtoOneof]
    var nestedMessages: [ProtoMessage]
    var nestedEnums: [ProtoEnum]
    var isMapEntry: Bool
    var hasExtensions: Bool
    var comment: String?
}

/// An enum value.
struct ProtoEnumValue {
    var name: String
    var number: Int32
    var comment: String?
}

/// An enum type.
struct ProtoEnum {
    var name: String
    var fullName: String
    var values: [ProtoEnumValue]
    var comment: String?
}

/// A `.proto` file as protoc parsed it.
struct ProtoFile {
    var name: String
    var package: String
    var isProto3: Bool
    var dependencies: [String]
    var messages: [ProtoMessage]
    var enums: [ProtoEnum]
    var extensionCount: Int
    /// The file's serialized `FileDescriptorProto` without its source info (comments and positions).
    var descriptorBytes: [UInt8]
}

/// Reads the descriptors of a `CodeGeneratorRequest` (decoded by protobuf-c) into Swift values.
enum DescriptorReader {
    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    static func buffer<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: Int) -> UnsafeBufferPointer<T> {
        UnsafeBufferPointer(start: count == 0 ? nil : pointer, count: count)
    }

    /// Reads one file descriptor, attaching the comments of its `SourceCodeInfo`.
    static func file(_ c: UnsafeMutablePointer<Google__Protobuf__FileDescriptorProto>) -> ProtoFile {
        let f = c.pointee
        c.pointee.source_code_info = nil
        let descriptorBytes = withUnsafePointer(to: &c.pointee.base) { PluginIO.pack($0) }
        c.pointee.source_code_info = f.source_code_info
        var comments: [[Int32]: String] = [:]
        if let info = f.source_code_info {
            for location in buffer(info.pointee.location, info.pointee.n_location) {
                guard let location else { continue }
                let path = Array(buffer(location.pointee.path, location.pointee.n_path))
                var text = string(location.pointee.leading_comments)
                let trailing = string(location.pointee.trailing_comments)
                if !trailing.isEmpty { text += (text.isEmpty ? "" : "\n") + trailing }
                if !text.isEmpty { comments[path] = text }
            }
        }
        let package = string(f.package)
        let prefix = package.isEmpty ? "" : package + "."
        let messages = buffer(f.message_type, f.n_message_type).enumerated().map { index, m in
            message(m!, prefix: prefix, path: [4, Int32(index)], comments: comments)
        }
        let enums = buffer(f.enum_type, f.n_enum_type).enumerated().map { index, e in
            enumeration(e!, prefix: prefix, path: [5, Int32(index)], comments: comments)
        }
        return ProtoFile(
            name: string(f.name),
            package: package,
            isProto3: string(f.syntax) == "proto3",
            dependencies: buffer(f.dependency, f.n_dependency).map { string($0) },
            messages: messages,
            enums: enums,
            extensionCount: f.n_extension,
            descriptorBytes: descriptorBytes
        )
    }

    static func message(
        _ c: UnsafeMutablePointer<Google__Protobuf__DescriptorProto>,
        prefix: String,
        path: [Int32],
        comments: [[Int32]: String]
    ) -> ProtoMessage {
        let m = c.pointee
        let name = string(m.name)
        let fullName = prefix + name
        let fields = buffer(m.field, m.n_field).enumerated().map { index, field in
            self.field(field!.pointee, comment: comments[path + [2, Int32(index)]])
        }
        let oneofs = buffer(m.oneof_decl, m.n_oneof_decl).enumerated().map { index, oneof in
            ProtoOneof(name: string(oneof!.pointee.name), comment: comments[path + [8, Int32(index)]])
        }
        let nested = buffer(m.nested_type, m.n_nested_type).enumerated().map { index, n in
            message(n!, prefix: fullName + ".", path: path + [3, Int32(index)], comments: comments)
        }
        let enums = buffer(m.enum_type, m.n_enum_type).enumerated().map { index, e in
            enumeration(e!, prefix: fullName + ".", path: path + [4, Int32(index)], comments: comments)
        }
        let isMapEntry = m.options.map { $0.pointee.has_map_entry != 0 && $0.pointee.map_entry != 0 } ?? false
        return ProtoMessage(
            name: name,
            fullName: fullName,
            fields: fields,
            oneofs: oneofs,
            nestedMessages: nested,
            nestedEnums: enums,
            isMapEntry: isMapEntry,
            hasExtensions: m.n_extension > 0,
            comment: comments[path]
        )
    }

    static func field(_ f: Google__Protobuf__FieldDescriptorProto, comment: String?) -> ProtoField {
        var typeName = string(f.type_name)
        if typeName.hasPrefix(".") { typeName.removeFirst() }
        return ProtoField(
            name: string(f.name),
            number: f.number,
            label: ProtoLabel(rawValue: Int32(f.label.rawValue)) ?? .optional,
            type: ProtoFieldType(rawValue: Int32(f.type.rawValue)) ?? .group,
            typeName: typeName,
            defaultValue: f.default_value.map { String(cString: $0) },
            oneofIndex: f.has_oneof_index != 0 ? Int(f.oneof_index) : nil,
            isProto3Optional: f.has_proto3_optional != 0 && f.proto3_optional != 0,
            comment: comment
        )
    }

    static func enumeration(
        _ c: UnsafeMutablePointer<Google__Protobuf__EnumDescriptorProto>,
        prefix: String,
        path: [Int32],
        comments: [[Int32]: String]
    ) -> ProtoEnum {
        let e = c.pointee
        let name = string(e.name)
        let values = buffer(e.value, e.n_value).enumerated().map { index, v in
            ProtoEnumValue(
                name: string(v!.pointee.name),
                number: v!.pointee.number,
                comment: comments[path + [2, Int32(index)]]
            )
        }
        return ProtoEnum(name: name, fullName: prefix + name, values: values, comment: comments[path])
    }
}
