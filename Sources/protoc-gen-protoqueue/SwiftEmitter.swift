/// Emits one `<path_with_underscores>.protoqueue.swift` per `.proto` file: a `public struct` per message, a
/// Swift enum per protobuf enum and per oneof, and the conversions to and from the protoc-c structs.
struct SwiftGenerator {
    let files: [ProtoFile]
    let parameters: PluginParameters
    let index: SchemaIndex

    init(files: [ProtoFile], parameters: PluginParameters) {
        self.files = files
        self.parameters = parameters
        self.index = SchemaIndex(files: files)
    }

    func generate(_ names: [String]) throws(GeneratorError) -> [(name: String, content: String)] {
        guard let cModule = parameters.cModule, !cModule.isEmpty else {
            throw GeneratorError("missing parameter c_module=<name of the C module holding the protoc-c output>")
        }
        let toGenerate = Set(names)
        var output: [(name: String, content: String)] = []
        for name in names {
            guard let file = files.first(where: { $0.name == name }) else { continue }
            try validate(file, toGenerate: toGenerate)
            var emitter = SwiftFileEmitter(file: file, index: index, cModule: cModule)
            let stem = name.hasSuffix(".proto") ? String(name.dropLast(6)) : name
            output.append((stem.replacingOccurrences(of: "/", with: "_") + ".protoqueue.swift", emitter.emit()))
        }
        return output
    }

    /// Refuses what protobuf-c or this generator cannot handle, naming the file and the construct.
    func validate(_ file: ProtoFile, toGenerate: Set<String>) throws(GeneratorError) {
        for dependency in file.dependencies where !toGenerate.contains(dependency) {
            if dependency.hasPrefix("google/protobuf/") {
                let types = typesUsed(from: dependency, in: file)
                throw GeneratorError(
                    "\(file.name): imports \(dependency)\(types.isEmpty ? "" : " (\(types.joined(separator: ", ")))"); "
                        + "well-known types are not supported by protoqueue (protobuf-c ships no C for them). "
                        + "Use plain fields instead, for example int64 seconds + int32 nanos for a timestamp.")
            }
            throw GeneratorError(
                "\(file.name): imports \(dependency), which is not part of this target's schema set; "
                    + "add it to the same target (or to protoFiles in protoqueue.json)")
        }
        if file.extensionCount > 0 {
            throw GeneratorError("\(file.name): extensions (`extend`) are not supported by protoqueue")
        }
        func check(_ message: ProtoMessage) throws(GeneratorError) {
            if message.hasExtensions {
                throw GeneratorError(
                    "\(file.name): \(message.fullName) declares extensions, which protoqueue does not support")
            }
            for field in message.fields where field.type == .group {
                throw GeneratorError(
                    "\(file.name): \(message.fullName).\(field.name) is a group; groups are not supported")
            }
            for nested in message.nestedMessages { try check(nested) }
        }
        for message in file.messages { try check(message) }
    }

    /// The full names of the types of `dependency` that `file` refers to.
    func typesUsed(from dependency: String, in file: ProtoFile) -> [String] {
        guard let imported = files.first(where: { $0.name == dependency }) else { return [] }
        var declared: Set<String> = []
        func collect(_ message: ProtoMessage) {
            declared.insert(message.fullName)
            for nested in message.nestedMessages { collect(nested) }
            for enumeration in message.nestedEnums { declared.insert(enumeration.fullName) }
        }
        imported.messages.forEach(collect)
        imported.enums.forEach { declared.insert($0.fullName) }
        var used: [String] = []
        func scan(_ message: ProtoMessage) {
            for field in message.fields where declared.contains(field.typeName) && !used.contains(field.typeName) {
                used.append(field.typeName)
            }
            message.nestedMessages.forEach(scan)
        }
        file.messages.forEach(scan)
        return used
    }
}

/// Writes the Swift source of one file.
struct SwiftFileEmitter {
    let file: ProtoFile
    let index: SchemaIndex
    let cModule: String
    var out = ""
    var indent = 0

    init(file: ProtoFile, index: SchemaIndex, cModule: String) {
        self.file = file
        self.index = index
        self.cModule = cModule
    }

    mutating func line(_ text: String = "") {
        out += text.isEmpty ? "\n" : String(repeating: "    ", count: indent) + text + "\n"
    }

    mutating func doc(_ comment: String?, fallback: String) {
        let text = comment?.trimmingTrailingNewlines ?? ""
        guard !text.isEmpty else {
            line("/// \(fallback)")
            return
        }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var l = String(raw)
            while l.last == " " { l.removeLast() }
            line(l.isEmpty ? "///" : (l.first == " " ? "///\(l)" : "/// \(l)"))
        }
    }

    mutating func emit() -> String {
        line("// Generated by protoc-gen-protoqueue from \(file.name). Do not edit.")
        line("// swift-format-ignore-file")
        line()
        line("@_spi(ProtoqueueGenerated) public import ProtoqueueCodec")
        line("import CProtobufC")
        line("import \(cModule)")
        for enumeration in file.enums {
            line()
            emitEnum(enumeration)
        }
        for message in file.messages where !message.isMapEntry {
            line()
            emitMessage(message)
        }
        for message in file.messages where !message.isMapEntry {
            emitConversions(message)
        }
        return out
    }

    // MARK: - Enums

    /// The Swift case names of an enum's values (aliases excluded), in declaration order.
    static func caseNames(_ enumeration: ProtoEnum) -> [(value: ProtoEnumValue, name: String, isAlias: Bool)] {
        let prefix = CNaming.camelToLower(enumeration.name).uppercased() + "_"
        var used: Set<String> = []
        var numbers: Set<Int32> = []
        return enumeration.values.map { value in
            var base = value.name
            if base.hasPrefix(prefix), base.count > prefix.count,
                let first = base.dropFirst(prefix.count).first, !first.isNumber
            {
                base = String(base.dropFirst(prefix.count))
            }
            var name = SwiftNaming.member(base)
            while used.contains(name) { name += "_" }
            used.insert(name)
            return (value, name, !numbers.insert(value.number).inserted)
        }
    }

    mutating func emitEnum(_ enumeration: ProtoEnum) {
        let name = SwiftNaming.typeName(enumeration.name)
        let cases = Self.caseNames(enumeration)
        doc(enumeration.comment, fallback: "The protobuf enum `\(enumeration.fullName)`.")
        line("public enum \(name): Swift.RawRepresentable, Swift.CaseIterable, Swift.Sendable, Swift.Hashable {")
        indent += 1
        for entry in cases where !entry.isAlias {
            doc(entry.value.comment, fallback: "`\(entry.value.name)` (\(entry.value.number)).")
            line("case \(SwiftNaming.escaped(entry.name))")
        }
        line("/// A value this schema does not declare, kept as read so that it is written back unchanged.")
        line("case unrecognized(Swift.Int32)")
        for entry in cases where entry.isAlias {
            let target = cases.first { $0.value.number == entry.value.number && !$0.isAlias }!
            line()
            doc(entry.value.comment, fallback: "`\(entry.value.name)`, an alias of ``\(target.name)``.")
            line("public static let \(SwiftNaming.escaped(entry.name)): \(name) = .\(SwiftNaming.escaped(target.name))")
        }
        line()
        line("/// Creates the case for a wire value; an undeclared value becomes ``unrecognized(_:)``.")
        line("public init(rawValue: Swift.Int32) {")
        indent += 1
        line("switch rawValue {")
        for entry in cases where !entry.isAlias {
            line("case \(entry.value.number): self = .\(SwiftNaming.escaped(entry.name))")
        }
        line("default: self = .unrecognized(rawValue)")
        line("}")
        indent -= 1
        line("}")
        line()
        line("/// The value written on the wire.")
        line("public var rawValue: Swift.Int32 {")
        indent += 1
        line("switch self {")
        for entry in cases where !entry.isAlias {
            line("case .\(SwiftNaming.escaped(entry.name)): return \(entry.value.number)")
        }
        line("case .unrecognized(let value): return value")
        line("}")
        indent -= 1
        line("}")
        line()
        line("/// The declared cases, in declaration order.")
        let all = cases.filter { !$0.isAlias }.map { ".\(SwiftNaming.escaped($0.name))" }.joined(separator: ", ")
        line("public static let allCases: [\(name)] = [\(all)]")
        indent -= 1
        line("}")
    }

    // MARK: - Field model

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

    // MARK: - Messages

    mutating func emitMessage(_ message: ProtoMessage) {
        let name = SwiftNaming.typeName(message.name)
        doc(message.comment, fallback: "The protobuf message `\(message.fullName)`.")
        line("public struct \(name): ProtoqueueCodec.ProtoqueueMessage, Swift.Sendable, Swift.Hashable {")
        indent += 1
        line("/// The full protobuf name of this message.")
        line("public static let protoMessageName: Swift.String = \(SwiftNaming.stringLiteral(message.fullName))")
        let oneofs = realOneofs(message)
        var initParameters: [(name: String, type: String, defaultValue: String)] = []
        for field in message.fields {
            let property = SwiftNaming.member(field.name)
            if case .oneofMember(let position) = kind(field, in: message) {
                guard let oneof = oneofs.first(where: { $0.index == position }),
                    oneof.fields.first?.number == field.number
                else { continue }
                let oneofName = SwiftNaming.member(oneof.oneof.name)
                let type = oneofTypeName(oneof.oneof, in: message)
                line()
                doc(oneof.oneof.comment, fallback: "The `\(oneof.oneof.name)` oneof: at most one of its fields is set.")
                line("public var \(SwiftNaming.escaped(oneofName)): \(type)? = nil")
                initParameters.append((oneofName, type + "?", "nil"))
                continue
            }
            let type = propertyType(field, in: message)!
            let defaultValue = propertyDefault(field, in: message)
            line()
            doc(field.comment, fallback: "The `\(field.name)` field (number \(field.number)).")
            if isBoxed(field, in: message) {
                line("public var \(SwiftNaming.escaped(property)): \(type) {")
                indent += 1
                line("get { _protoqueueStorage_\(property)?.value }")
                line("set { _protoqueueStorage_\(property) = newValue.map { ProtoqueueCodec.ProtoqueueBox($0) } }")
                indent -= 1
                line("}")
            } else {
                line("public var \(SwiftNaming.escaped(property)): \(type) = \(defaultValue)")
            }
            if case .proto2Optional = kind(field, in: message), let literal = defaultLiteral(field) {
                line()
                line("/// ``\(property)``, or its schema default `\(field.defaultValue!)` when it is not set.")
                line(
                    "public var \(property)OrDefault: \(valueType(field)) { \(SwiftNaming.escaped(property)) ?? "
                        + "\(literal) }"
                )
            }
            initParameters.append((property, type, defaultValue))
        }
        for field in message.fields where isBoxed(field, in: message) {
            let property = SwiftNaming.member(field.name)
            line("var _protoqueueStorage_\(property): ProtoqueueCodec.ProtoqueueBox<\(valueType(field))>? = nil")
        }
        line()
        line("/// Fields read from the wire that this schema does not declare; encoding writes them back.")
        line("public var unknownFields = ProtoqueueCodec.ProtoqueueUnknownFields()")
        for oneof in oneofs { emitOneofEnum(oneof.oneof, fields: oneof.fields, in: message) }
        for enumeration in message.nestedEnums {
            line()
            emitEnum(enumeration)
        }
        for nested in message.nestedMessages where !nested.isMapEntry {
            line()
            emitMessage(nested)
        }
        line()
        line("/// Creates a message with every field at its default value.")
        line("public init() {}")
        if !initParameters.isEmpty {
            line()
            line("/// Creates a message from field values; omitted fields keep their defaults.")
            let list = initParameters.map { "\(SwiftNaming.escaped($0.name)): \($0.type) = \($0.defaultValue)" }
            line("public init(")
            indent += 1
            for (position, parameter) in list.enumerated() {
                line(parameter + (position == list.count - 1 ? "" : ","))
            }
            indent -= 1
            line(") {")
            indent += 1
            for parameter in initParameters {
                line("self.\(SwiftNaming.escaped(parameter.name)) = \(SwiftNaming.escaped(parameter.name))")
            }
            indent -= 1
            line("}")
        }
        let cType = CNaming.typeName(message.fullName)
        let checkDepth = index.unboundedDepth.contains(message.fullName)
        line()
        line("/// Decodes a message from its protobuf encoding.")
        line("/// - Throws: ``ProtoqueueError`` (`decodingFailed` or `nestingTooDeep`) for bytes that are not a valid")
        line("///   encoding of this message.")
        line("public init(serializedBytes bytes: [Swift.UInt8]) throws(ProtoqueueCodec.ProtoqueueError) {")
        indent += 1
        line("try ProtoqueueCodec.ProtoqueueRuntime.decode(")
        line("    bytes, descriptor: Self._protoqueueDescriptor, messageName: Self.protoMessageName,")
        line("    checkDepth: \(checkDepth), as: \(cType).self, into: &self")
        line(") { $0._protoqueueRead($1) }")
        indent -= 1
        line("}")
        line()
        line("/// Encodes the message to protobuf bytes (map entries in key order).")
        line("/// - Throws: ``ProtoqueueError`` (`encodingFailed`) for a string holding U+0000 or an unset required")
        line("///   message field.")
        line("public func serializedBytes() throws(ProtoqueueCodec.ProtoqueueError) -> [Swift.UInt8] {")
        indent += 1
        line(
            "try ProtoqueueCodec.ProtoqueueRuntime.encode(\(cType).self, initialize: { "
                + "\(CNaming.functionPrefix(message.fullName))__init($0) }) {"
        )
        line("    (c, arena) throws(ProtoqueueCodec.ProtoqueueError) in try self._protoqueueFill(c, &arena)")
        line("}")
        indent -= 1
        line("}")
        indent -= 1
        line("}")
    }

    mutating func emitOneofEnum(_ oneof: ProtoOneof, fields: [ProtoField], in message: ProtoMessage) {
        let recursive = fields.contains { isBoxed($0, in: message) }
        line()
        doc(oneof.comment, fallback: "The fields of the `\(oneof.name)` oneof.")
        line(
            "public \(recursive ? "indirect " : "")enum \(oneofTypeName(oneof, in: message)): Swift.Sendable, "
                + "Swift.Hashable {"
        )
        indent += 1
        for field in fields {
            doc(field.comment, fallback: "The `\(field.name)` field (number \(field.number)).")
            line("case \(SwiftNaming.escaped(SwiftNaming.member(field.name)))(\(valueType(field)))")
        }
        indent -= 1
        line("}")
    }

    // MARK: - Conversions

    /// A protoc-c member name as Swift accesses it (`init` and `self` need backticks).
    func cMember(_ fieldName: String) -> String {
        let name = CNaming.memberName(fieldName)
        return SwiftNaming.keywords.contains(name) || SwiftNaming.reservedMembers.contains(name) ? "`\(name)`" : name
    }

    /// Converts one C value (an element for repeated fields) to Swift.
    func fromC(_ field: ProtoField, _ expression: String) -> String {
        switch field.type {
        case .bool: return "(\(expression) != 0)"
        case .string: return "ProtoqueueCodec.ProtoqueueRuntime.string(\(expression))"
        case .bytes: return "ProtoqueueCodec.ProtoqueueRuntime.bytes(\(expression))"
        case .enumeration:
            return "\(valueType(field))(rawValue: ProtoqueueCodec.ProtoqueueRuntime.enumValue(\(expression)))"
        case .message, .group: return "\(valueType(field))(_protoqueueC: \(expression)!)"
        default: return expression
        }
    }

    /// Converts one Swift value to C, allocating in `arena` where needed.
    func toC(_ field: ProtoField, _ expression: String, owner: ProtoMessage) -> String {
        switch field.type {
        case .bool: return "(\(expression) ? 1 : 0)"
        case .string:
            let name = SwiftNaming.stringLiteral("\(owner.fullName).\(field.name)")
            return "try arena.string(\(expression), field: \(name))"
        case .bytes: return "arena.bytes(\(expression))"
        case .enumeration: return "ProtoqueueCodec.ProtoqueueRuntime.cEnum(\(expression).rawValue)"
        case .message, .group: return "try \(expression)._protoqueueMake(&arena)"
        default: return expression
        }
    }

    /// Whether protoc-c gives this optional field a `has_` member (scalars, enums and bytes).
    func hasPresenceFlag(_ field: ProtoField) -> Bool {
        field.type != .string && field.type != .message && field.type != .group
    }

    mutating func emitConversions(_ message: ProtoMessage) {
        let swiftPath = index.messages[message.fullName]!.swiftPath
        let cType = CNaming.typeName(message.fullName)
        let functionPrefix = CNaming.functionPrefix(message.fullName)
        line()
        line("extension \(swiftPath) {")
        indent += 1
        line("nonisolated(unsafe) static let _protoqueueDescriptor = ProtoqueueCodec.ProtoqueueRuntime.descriptor(")
        line("    of: \(cType).self, initialize: { \(functionPrefix)__init($0) })")
        line()
        // The fields are read by a mutating method, in place: an initializer that assigns them itself returns
        // the value through a temporary that the optimizer copies (a retain and a release per field).
        line("init(_protoqueueC c: Swift.UnsafePointer<\(cType)>) {")
        line("    self.init()")
        line("    _protoqueueRead(c)")
        line("}")
        line()
        line("mutating func _protoqueueRead(_ c: Swift.UnsafePointer<\(cType)>) {")
        indent += 1
        for field in message.fields { emitFromC(field, in: message) }
        line("unknownFields = ProtoqueueCodec.ProtoqueueRuntime.unknownFields(of: c)")
        indent -= 1
        line("}")
        line()
        line("func _protoqueueMake(")
        line("    _ arena: inout ProtoqueueCodec.ProtoqueueArena")
        line(") throws(ProtoqueueCodec.ProtoqueueError) -> Swift.UnsafeMutablePointer<\(cType)> {")
        line("    let c = arena.allocate(\(cType).self)")
        line("    \(functionPrefix)__init(c)")
        line("    try _protoqueueFill(c, &arena)")
        line("    return c")
        line("}")
        line()
        line("func _protoqueueFill(")
        line("    _ c: Swift.UnsafeMutablePointer<\(cType)>, _ arena: inout ProtoqueueCodec.ProtoqueueArena")
        line(") throws(ProtoqueueCodec.ProtoqueueError) {")
        indent += 1
        for field in message.fields { emitToC(field, in: message) }
        for oneof in realOneofs(message) { emitOneofToC(oneof.oneof, fields: oneof.fields, in: message) }
        line("ProtoqueueCodec.ProtoqueueRuntime.setUnknownFields(unknownFields, of: c, in: &arena)")
        indent -= 1
        line("}")
        indent -= 1
        line("}")
        for nested in message.nestedMessages where !nested.isMapEntry { emitConversions(nested) }
    }

    mutating func emitFromC(_ field: ProtoField, in message: ProtoMessage) {
        let property = "self.\(SwiftNaming.escaped(SwiftNaming.member(field.name)))"
        let member = "c.pointee.\(cMember(field.name))"
        let cName = CNaming.memberName(field.name)
        switch kind(field, in: message) {
        case .map(let key, let value, _):
            // `Dictionary(_:uniquingKeysWith:)` runs specialized in the caller; `init(minimumCapacity:)` does not and
            // looks up the storage type's metadata on every call. A key repeated on the wire keeps its last value.
            let valueExpression =
                value.type == .message
                ? "entry!.pointee.value.map { \(valueType(value))(_protoqueueC: $0) } ?? \(valueType(value))()"
                : fromC(value, "entry!.pointee.value")
            line("if c.pointee.n_\(cName) > 0 {")
            indent += 1
            line("\(property) = [\(valueType(key)): \(valueType(value))](")
            line(
                "    ProtoqueueCodec.ProtoqueueRuntime.mapEntries(c.pointee.\(cMember(field.name)), "
                    + "c.pointee.n_\(cName)).lazy.map { entry in"
            )
            line("        (\(fromC(key, "entry!.pointee.key")), \(valueExpression))")
            line("    },")
            line("    uniquingKeysWith: { _, last in last })")
            indent -= 1
            line("}")
        case .repeated:
            line(
                "\(property) = ProtoqueueCodec.ProtoqueueRuntime.array(c.pointee.\(cMember(field.name)), "
                    + "c.pointee.n_\(cName)) { \(fromC(field, "$0")) }"
            )
        case .oneofMember(let position):
            guard realOneofs(message).first(where: { $0.index == position })?.fields.first?.number == field.number
            else { return }
            let oneof = message.oneofs[position]
            let oneofFields = message.fields.filter { $0.oneofIndex == position }
            let type = oneofTypeName(oneof, in: message)
            line("switch c.pointee.\(CNaming.oneofCaseMember(oneof.name)).rawValue {")
            for member in oneofFields {
                let value = fromC(member, "c.pointee.\(cMember(member.name))")
                line(
                    "case \(member.number): self.\(SwiftNaming.escaped(SwiftNaming.member(oneof.name))) = "
                        + "\(type).\(SwiftNaming.escaped(SwiftNaming.member(member.name)))(\(value))"
                )
            }
            line("default: break")
            line("}")
        case .proto3Optional(let position):
            line("if c.pointee.\(CNaming.oneofCaseMember(message.oneofs[position].name)).rawValue == \(field.number) {")
            line("    \(property) = \(fromC(field, member))")
            line("}")
        case .singularMessage:
            line("if let value = \(member) { \(property) = \(valueType(field))(_protoqueueC: value) }")
        case .proto2Optional:
            if hasPresenceFlag(field) {
                line("if c.pointee.has_\(cName) != 0 { \(property) = \(fromC(field, member)) }")
            } else if field.defaultValue != nil {
                line("if let value = \(member),")
                line(
                    "    !ProtoqueueCodec.ProtoqueueRuntime.isDefault(value, field: \(field.number), of: "
                        + "Self._protoqueueDescriptor)"
                )
                line("{")
                line("    \(property) = ProtoqueueCodec.ProtoqueueRuntime.string(value)")
                line("}")
            } else {
                line("if let value = \(member) { \(property) = ProtoqueueCodec.ProtoqueueRuntime.string(value) }")
            }
        case .implicit, .required:
            line("\(property) = \(fromC(field, member))")
        }
    }

    mutating func emitToC(_ field: ProtoField, in message: ProtoMessage) {
        let property = "self.\(SwiftNaming.escaped(SwiftNaming.member(field.name)))"
        let cName = CNaming.memberName(field.name)
        let member = "c.pointee.\(cMember(field.name))"
        switch kind(field, in: message) {
        case .map(let key, let value, let entry):
            let entryType = CNaming.typeName(entry.fullName)
            line("if !\(property).isEmpty {")
            indent += 1
            line("let entries = arena.allocate(like: \(member), count: \(property).count)")
            line("var position = 0")
            line("for element in \(property) {")
            indent += 1
            line("let entry = arena.allocate(\(entryType).self)")
            line("\(CNaming.functionPrefix(entry.fullName))__init(entry)")
            emitEntryField(key, "element.key", entry: entry)
            emitEntryField(value, "element.value", entry: entry)
            line("entries[position] = entry")
            line("position += 1")
            indent -= 1
            line("}")
            line("ProtoqueueCodec.ProtoqueueRuntime.sortMapEntries(entries, count: position) {")
            line("    ProtoqueueCodec.ProtoqueueRuntime.mapKeyPrecedes($0.pointee.key, $1.pointee.key)")
            line("}")
            line("c.pointee.n_\(cName) = \(property).count")
            line("\(member) = entries")
            indent -= 1
            line("}")
        case .repeated:
            line("if !\(property).isEmpty {")
            indent += 1
            line("let elements = arena.allocate(like: \(member), count: \(property).count)")
            line("for (position, element) in \(property).enumerated() {")
            line("    elements[position] = \(toC(field, "element", owner: message))")
            line("}")
            line("c.pointee.n_\(cName) = \(property).count")
            line("\(member) = elements")
            indent -= 1
            line("}")
        case .oneofMember:
            break
        case .proto3Optional(let position):
            line("if let value = \(property) {")
            line(
                "    c.pointee.\(CNaming.oneofCaseMember(message.oneofs[position].name)) = .init(rawValue: "
                    + "\(field.number))"
            )
            line("    \(member) = \(toC(field, "value", owner: message))")
            line("}")
        case .singularMessage:
            if field.label == .required {
                line("guard let value = \(property) else {")
                line("    throw ProtoqueueCodec.ProtoqueueError(")
                let text = SwiftNaming.stringLiteral("\(message.fullName): required field \(field.name) is not set")
                line("        .encodingFailed, \(text))")
                line("}")
                line("\(member) = try value._protoqueueMake(&arena)")
            } else {
                // Optional chaining calls the method on the stored value; `if let` would copy it first.
                line("\(member) = try \(property)?._protoqueueMake(&arena)")
            }
        case .proto2Optional:
            line("if let value = \(property) {")
            if hasPresenceFlag(field) { line("    c.pointee.has_\(cName) = 1") }
            line("    \(member) = \(toC(field, "value", owner: message))")
            line("}")
        case .implicit:
            switch field.type {
            case .string, .bytes:
                line("if !\(property).isEmpty { \(member) = \(toC(field, property, owner: message)) }")
            default:
                line("\(member) = \(toC(field, property, owner: message))")
            }
        case .required:
            line("\(member) = \(toC(field, property, owner: message))")
        }
    }

    /// Sets the key or value of a map entry (`entry` is the C entry pointer in scope).
    mutating func emitEntryField(_ field: ProtoField, _ expression: String, entry: ProtoMessage) {
        let member = "entry.pointee.\(cMember(field.name))"
        if !file.isProto3 && hasPresenceFlag(field) {
            line("entry.pointee.has_\(CNaming.memberName(field.name)) = 1")
        }
        line("\(member) = \(toC(field, expression, owner: entry))")
    }

    mutating func emitOneofToC(_ oneof: ProtoOneof, fields: [ProtoField], in message: ProtoMessage) {
        line("switch self.\(SwiftNaming.escaped(SwiftNaming.member(oneof.name))) {")
        for field in fields {
            line("case .\(SwiftNaming.escaped(SwiftNaming.member(field.name)))(let value)?:")
            line("    c.pointee.\(CNaming.oneofCaseMember(oneof.name)) = .init(rawValue: \(field.number))")
            line("    c.pointee.\(cMember(field.name)) = \(toC(field, "value", owner: message))")
        }
        line("case nil: break")
        line("}")
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var text = self
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return text
    }

    func replacingOccurrences(of target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
