// The conversions between a message's Swift value and its protoc-c struct.

extension SwiftFileEmitter {
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
