/// Proto names that the generated Swift, or protoc-c's C, would declare under one name.
///
/// Both generators refuse such a schema set at generation time with a message naming both declarations, instead
/// of emitting code that does not compile (Swift: `invalid redeclaration of 'leading'`; C, which protoc-c writes
/// and we cannot change: `redefinition of 'struct Pkg__Outer__Type'`). Renaming is left to the schema's author:
/// a silent rename (`leading_`) would depend on declaration order, so reordering fields could swap two properties
/// of the same type without a compile error.
enum NameCollisions {
    /// One thing the generated code declares, and the name it gets there.
    struct Declaration: Equatable {
        /// What declares it: `field`, `oneof`, `message`, `enum`, or a member protoc-c derives from one.
        var kind: String
        /// The proto name as written.
        var name: String
        /// The full proto name, used when the two declarations are in different scopes.
        var fullName: String
        /// The `.proto` file.
        var file: String
        /// Where the name is declared, such as `message repro.Foo`; nil at the top level of a file.
        var scope: String?
        /// The name in the generated code.
        var generated: String
    }

    /// The first declaration whose generated name an earlier one already has, with that earlier one.
    static func firstClash(_ declarations: [Declaration]) -> (earlier: Declaration, later: Declaration)? {
        var seen: [String: Declaration] = [:]
        for declaration in declarations {
            if let earlier = seen[declaration.generated] { return (earlier, declaration) }
            seen[declaration.generated] = declaration
        }
        return nil
    }

    /// The error for two declarations that `what` (`Swift name`, `C type`, …) would name alike, e.g.
    /// `kitchen.proto: message Foo: fields 'leading' and '_leading' both become Swift name 'leading'; …`.
    static func error(_ earlier: Declaration, _ later: Declaration, become what: String) -> GeneratorError {
        let location: String
        let pair: String
        if earlier.file == later.file && earlier.scope == later.scope {
            location = later.file + (later.scope.map { ": \($0)" } ?? "")
            pair =
                earlier.kind == later.kind && !earlier.kind.contains(" ")
                ? "\(earlier.kind)s '\(earlier.name)' and '\(later.name)'"
                : "\(earlier.kind) '\(earlier.name)' and \(later.kind) '\(later.name)'"
        } else {
            location = later.file
            let origin = earlier.file == later.file ? "" : " (\(earlier.file))"
            pair = "\(earlier.kind) '\(earlier.fullName)'\(origin) and \(later.kind) '\(later.fullName)'"
        }
        return GeneratorError("\(location): \(pair) both become \(what) '\(later.generated)'; rename one of them")
    }

    /// The first clash of C names protoc-c derives from `files` (one C module): struct and enum type names,
    /// function and descriptor prefixes, and the members of each message's struct.
    static func cClash(in files: [ProtoFile]) -> GeneratorError? {
        var types: [Declaration] = []
        var prefixes: [Declaration] = []
        func visit(_ message: ProtoMessage, file: ProtoFile, scope: String?) -> GeneratorError? {
            let entry = declaration("message", message.name, message.fullName, file, scope)
            types.append(with(entry, CNaming.typeName(message.fullName)))
            prefixes.append(with(entry, CNaming.functionPrefix(message.fullName)))
            let inner = "message \(message.fullName)"
            for oneof in message.oneofs {
                let type = CNaming.typeName(message.fullName) + "__" + CNaming.toCamel(oneof.name) + "Case"
                types.append(declaration("oneof", oneof.name, "\(message.fullName).\(oneof.name)", file, inner, type))
            }
            for enumeration in message.nestedEnums { addEnum(enumeration, file: file, scope: inner) }
            for nested in message.nestedMessages {
                if let clash = visit(nested, file: file, scope: inner) { return clash }
            }
            return memberClash(in: message, file: file)
        }
        func addEnum(_ enumeration: ProtoEnum, file: ProtoFile, scope: String?) {
            let entry = declaration("enum", enumeration.name, enumeration.fullName, file, scope)
            types.append(with(entry, CNaming.typeName(enumeration.fullName)))
            prefixes.append(with(entry, CNaming.functionPrefix(enumeration.fullName)))
        }
        for file in files {
            for enumeration in file.enums { addEnum(enumeration, file: file, scope: nil) }
            for message in file.messages {
                if let clash = visit(message, file: file, scope: nil) { return clash }
            }
        }
        if let (earlier, later) = firstClash(types) {
            return error(earlier, later, become: "C type")
        }
        if let (earlier, later) = firstClash(prefixes) {
            return error(earlier, later, become: "C function prefix")
        }
        return nil
    }

    /// The members of a message's C struct, as protoc-c 1.4.1 writes them: `base`, then per field the value and
    /// `has_<name>` (proto2 optional scalars, enums and bytes) or `n_<name>` (repeated), then per oneof (proto3
    /// `optional` included, as `mode=c` makes those real) `<name>_case`; the values of a oneof share the struct's
    /// namespace (an anonymous union).
    static func memberClash(in message: ProtoMessage, file: ProtoFile) -> GeneratorError? {
        let scope = "message \(message.fullName)"
        func member(_ kind: String, _ name: String, _ generated: String) -> Declaration {
            declaration(kind, name, "\(message.fullName).\(name)", file, scope, generated)
        }
        var members = [member("protoc-c member", "base", "base")]
        for field in message.fields {
            let name = CNaming.memberName(field.name)
            members.append(member("field", field.name, name))
            if field.oneofIndex == nil && field.label == .repeated {
                members.append(member("count of field", field.name, "n_" + name))
            } else if field.oneofIndex == nil && field.label == .optional && !file.isProto3
                && ![.string, .message, .group].contains(field.type)
            {
                members.append(member("presence flag of field", field.name, "has_" + name))
            }
        }
        for oneof in message.oneofs {
            members.append(member("case member of oneof", oneof.name, CNaming.oneofCaseMember(oneof.name)))
        }
        return firstClash(members).map { error($0.earlier, $0.later, become: "C member") }
    }

    static func declaration(
        _ kind: String, _ name: String, _ fullName: String, _ file: ProtoFile, _ scope: String?,
        _ generated: String = ""
    ) -> Declaration {
        Declaration(kind: kind, name: name, fullName: fullName, file: file.name, scope: scope, generated: generated)
    }

    static func with(_ declaration: Declaration, _ generated: String) -> Declaration {
        var copy = declaration
        copy.generated = generated
        return copy
    }

    /// The first clash of Swift type names at the top level of the module, which every file of the set shares.
    static func swiftTopLevelClash(in files: [ProtoFile]) -> GeneratorError? {
        var types: [Declaration] = []
        for file in files {
            for enumeration in file.enums {
                types.append(
                    declaration(
                        "enum", enumeration.name, enumeration.fullName, file, nil,
                        SwiftNaming.typeName(enumeration.name)))
            }
            for message in file.messages where !message.isMapEntry {
                types.append(
                    declaration(
                        "message", message.name, message.fullName, file, nil, SwiftNaming.typeName(message.name)))
            }
        }
        return firstClash(types).map { error($0.earlier, $0.later, become: "Swift type") }
    }
}

extension SwiftFileEmitter {
    /// The first clash of Swift names inside a message of this file (recursively): its properties (fields,
    /// oneofs, `<name>OrDefault` accessors), its nested types (messages, enums, oneof enums) and each oneof
    /// enum's cases.
    func swiftMemberClash(in message: ProtoMessage) -> GeneratorError? {
        let scope = "message \(message.fullName)"
        func entry(_ kind: String, _ name: String, _ generated: String) -> NameCollisions.Declaration {
            NameCollisions.declaration(kind, name, "\(message.fullName).\(name)", file, scope, generated)
        }
        var properties: [NameCollisions.Declaration] = []
        var types: [NameCollisions.Declaration] = []
        let oneofs = realOneofs(message)
        for field in message.fields {
            guard case .oneofMember(let position) = kind(field, in: message) else {
                properties.append(entry("field", field.name, SwiftNaming.member(field.name)))
                if case .proto2Optional = kind(field, in: message), field.defaultValue != nil {
                    let accessor = SwiftNaming.member(field.name) + "OrDefault"
                    properties.append(entry("default accessor of field", field.name, accessor))
                }
                continue
            }
            if let oneof = oneofs.first(where: { $0.index == position }), oneof.fields.first?.number == field.number {
                properties.append(entry("oneof", oneof.oneof.name, SwiftNaming.member(oneof.oneof.name)))
            }
        }
        for nested in message.nestedMessages where !nested.isMapEntry {
            types.append(entry("message", nested.name, SwiftNaming.typeName(nested.name)))
        }
        for enumeration in message.nestedEnums {
            types.append(entry("enum", enumeration.name, SwiftNaming.typeName(enumeration.name)))
        }
        for oneof in oneofs {
            types.append(entry("oneof", oneof.oneof.name, oneofTypeName(oneof.oneof, in: message)))
            let cases = oneof.fields.map {
                NameCollisions.declaration(
                    "field", $0.name, "\(message.fullName).\($0.name)", file, "\(scope), oneof \(oneof.oneof.name)",
                    SwiftNaming.member($0.name))
            }
            if let (earlier, later) = NameCollisions.firstClash(cases) {
                return NameCollisions.error(earlier, later, become: "Swift case")
            }
        }
        if let (earlier, later) = NameCollisions.firstClash(properties) {
            return NameCollisions.error(earlier, later, become: "Swift name")
        }
        if let (earlier, later) = NameCollisions.firstClash(types) {
            return NameCollisions.error(earlier, later, become: "Swift type")
        }
        for nested in message.nestedMessages where !nested.isMapEntry {
            if let clash = swiftMemberClash(in: nested) { return clash }
        }
        return nil
    }
}
