import ProtoqueueCodec

/// Reads `FileDescriptorProto`s (field numbers of `google/protobuf/descriptor.proto`) into ``SchemaSet`` values.
struct DescriptorParser {
    var files: [SchemaSet.File] = []
    var messages: [String: MessageSchema] = [:]
    var enums: [String: EnumSchema] = [:]
    /// Each file's bytes without its `source_code_info` (field 9), by file name.
    var fileBytes: [String: [UInt8]] = [:]
    /// The messages of the file being read.
    var declared: [String] = []

    static func reader(_ slice: ArraySlice<UInt8>, _ what: String) -> WireReader {
        WireReader(slice, code: .invalidSchema, what: what)
    }

    mutating func file(_ slice: ArraySlice<UInt8>) throws(ProtoqueueError) {
        var file = SchemaSet.File(name: "", package: "", syntax: "proto2", dependencies: [], messageNames: [])
        var messageSlices: [ArraySlice<UInt8>] = []
        var enumSlices: [ArraySlice<UInt8>] = []
        var reader = Self.reader(slice, "FileDescriptorProto")
        var stripped: [UInt8] = []
        var start = reader.offset
        while let (number, value) = try reader.next() {
            if number != 9 { stripped += slice[start..<reader.offset] }
            start = reader.offset
            switch number {
            case 1: file.name = value.string ?? ""
            case 2: file.package = value.string ?? ""
            case 3: value.string.map { file.dependencies.append($0) }
            case 4: value.slice.map { messageSlices.append($0) }
            case 5: value.slice.map { enumSlices.append($0) }
            case 12: file.syntax = value.string ?? file.syntax
            default: break
            }
        }
        let prefix = file.package.isEmpty ? "" : file.package + "."
        let proto3 = file.syntax == "proto3"
        declared = []
        for message in messageSlices { try self.message(message, prefix: prefix, proto3: proto3) }
        file.messageNames = declared
        for enumeration in enumSlices { try self.enumeration(enumeration, prefix: prefix, proto3: proto3) }
        files.append(file)
        fileBytes[file.name] = stripped
    }

    mutating func message(
        _ slice: ArraySlice<UInt8>, prefix: String, proto3: Bool
    ) throws(ProtoqueueError) {
        var name = ""
        var fieldSlices: [ArraySlice<UInt8>] = []
        var nested: [ArraySlice<UInt8>] = []
        var nestedEnums: [ArraySlice<UInt8>] = []
        var oneofNames: [String] = []
        var reserved: [ReservedNumbers] = []
        var reservedNames: [String] = []
        var isMapEntry = false
        var reader = Self.reader(slice, "DescriptorProto")
        while let (number, value) = try reader.next() {
            switch number {
            case 1: name = value.string ?? ""
            case 2: value.slice.map { fieldSlices.append($0) }
            case 3: value.slice.map { nested.append($0) }
            case 4: value.slice.map { nestedEnums.append($0) }
            case 7: isMapEntry = try Self.flag(value.slice, field: 7, in: "MessageOptions") ?? false
            case 8: oneofNames.append(try Self.name(value.slice, in: "OneofDescriptorProto"))
            case 9: reserved.append(try Self.range(value.slice, inclusive: false))
            case 10: value.string.map { reservedNames.append($0) }
            default: break
            }
        }
        let fullName = prefix + name
        var fields: [FieldSchema] = []
        for fieldSlice in fieldSlices { fields.append(try field(fieldSlice, oneofs: oneofNames)) }
        messages[fullName] = MessageSchema(
            fullName: fullName, fields: fields, reservedNumbers: reserved, reservedNames: reservedNames,
            isMapEntry: isMapEntry, isProto3: proto3)
        declared.append(fullName)
        for child in nested { try message(child, prefix: fullName + ".", proto3: proto3) }
        for child in nestedEnums { try enumeration(child, prefix: fullName + ".", proto3: proto3) }
    }

    func field(_ slice: ArraySlice<UInt8>, oneofs: [String]) throws(ProtoqueueError) -> FieldSchema {
        var field = FieldSchema(
            name: "", number: 0, label: .optional, type: .int32, typeName: "", oneof: nil, isProto3Optional: false,
            jsonName: "", packedOption: nil)
        var oneofIndex: Int?
        var reader = Self.reader(slice, "FieldDescriptorProto")
        while let (number, value) = try reader.next() {
            switch number {
            case 1: field.name = value.string ?? ""
            case 3: field.number = value.int32 ?? 0
            case 4: field.label = value.int32.flatMap(FieldLabel.init(rawValue:)) ?? .optional
            case 5:
                guard let type = value.int32.flatMap(FieldType.init(rawValue:)) else {
                    throw ProtoqueueError(.invalidSchema, "FieldDescriptorProto: unknown field type \(value)")
                }
                field.type = type
            case 6:
                var typeName = value.string ?? ""
                if typeName.hasPrefix(".") { typeName.removeFirst() }
                field.typeName = typeName
            case 8: field.packedOption = try Self.flag(value.slice, field: 2, in: "FieldOptions")
            case 9: oneofIndex = value.int32.map(Int.init)
            case 10: field.jsonName = value.string ?? ""
            case 17: field.isProto3Optional = (value.integer ?? 0) != 0
            default: break
            }
        }
        if let oneofIndex, !field.isProto3Optional {
            guard oneofs.indices.contains(oneofIndex) else {
                throw ProtoqueueError(
                    .invalidSchema, "field \(field.name) names oneof \(oneofIndex), which its message lacks")
            }
            field.oneof = oneofs[oneofIndex]
        }
        return field
    }

    mutating func enumeration(_ slice: ArraySlice<UInt8>, prefix: String, proto3: Bool) throws(ProtoqueueError) {
        var name = ""
        var values: [EnumSchema.Value] = []
        var reserved: [ReservedNumbers] = []
        var reservedNames: [String] = []
        var reader = Self.reader(slice, "EnumDescriptorProto")
        while let (number, value) = try reader.next() {
            switch number {
            case 1: name = value.string ?? ""
            case 2: values.append(try Self.enumValue(value.slice))
            case 4: reserved.append(try Self.range(value.slice, inclusive: true))
            case 5: value.string.map { reservedNames.append($0) }
            default: break
            }
        }
        let fullName = prefix + name
        enums[fullName] = EnumSchema(
            fullName: fullName, values: values, reservedNumbers: reserved, reservedNames: reservedNames,
            isProto3: proto3)
    }

    static func enumValue(_ slice: ArraySlice<UInt8>?) throws(ProtoqueueError) -> EnumSchema.Value {
        var value = EnumSchema.Value(name: "", number: 0)
        var reader = reader(slice ?? [], "EnumValueDescriptorProto")
        while let (number, field) = try reader.next() {
            if number == 1 { value.name = field.string ?? "" }
            if number == 2 { value.number = field.int32 ?? 0 }
        }
        return value
    }

    /// The `name` (field 1) of a small descriptor such as `OneofDescriptorProto`.
    static func name(_ slice: ArraySlice<UInt8>?, in what: String) throws(ProtoqueueError) -> String {
        var reader = reader(slice ?? [], what)
        var name = ""
        while let (number, value) = try reader.next() {
            if number == 1 { name = value.string ?? "" }
        }
        return name
    }

    /// A boolean option of an options message, or `nil` when it is not written.
    static func flag(_ slice: ArraySlice<UInt8>?, field: UInt32, in what: String) throws(ProtoqueueError) -> Bool? {
        var reader = reader(slice ?? [], what)
        var flag: Bool?
        while let (number, value) = try reader.next() {
            if number == field { flag = (value.integer ?? 0) != 0 }
        }
        return flag
    }

    /// A reserved range (`start`, `end`): exclusive for messages, inclusive for enums.
    static func range(_ slice: ArraySlice<UInt8>?, inclusive: Bool) throws(ProtoqueueError) -> ReservedNumbers {
        var reader = reader(slice ?? [], "ReservedRange")
        var (start, end): (Int64, Int64) = (0, 0)
        while let (number, value) = try reader.next() {
            if number == 1 { start = Int64(value.int32 ?? 0) }
            if number == 2 { end = Int64(value.int32 ?? 0) }
        }
        if inclusive { end += 1 }
        return start..<max(start, end)
    }
}
