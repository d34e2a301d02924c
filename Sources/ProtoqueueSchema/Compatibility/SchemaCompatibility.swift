public import ProtoqueueCodec

/// Compares two versions of a task type's schema under the protobuf wire rules: what code built with the new
/// schema does with bytes written under the old one. A pure function; `SchemaCompatibilityTests` runs it over a
/// table of schema pairs built by `protoc`.
///
/// Breaking: a field number with another type or cardinality (also between wire-compatible scalars such as
/// `int32` and `int64`, whose values other languages truncate), a field moved into or out of a `oneof`, a number
/// reused by another field, a field removed without `reserved`, a reserved number used again, a new `required`
/// field, a changed package or message name, and for enums a value removed without `reserved` or a number reused.
/// Compatible: added fields and enum values, renamed fields and values with the same number, removals whose
/// numbers are reserved.
public enum SchemaCompatibility {
    /// Every difference between message `oldName` of `old` and message `newName` of `new`, following message and
    /// enum fields into their types.
    /// - Throws: `invalidSchema` when a set lacks its message.
    public static func changes(
        from old: SchemaSet, message oldName: String, to new: SchemaSet, message newName: String
    ) throws(ProtoqueueError) -> [SchemaChange] {
        guard let oldMessage = old.message(oldName) else {
            throw ProtoqueueError(.invalidSchema, "the old descriptor set does not declare message \(oldName)")
        }
        guard let newMessage = new.message(newName) else {
            throw ProtoqueueError(.invalidSchema, "the new descriptor set does not declare message \(newName)")
        }
        var walk = Walk(
            old: old, new: new, oldPackage: package(of: oldName, in: old),
            newPackage: package(of: newName, in: new))
        if oldName != newName {
            walk.changes.append(
                SchemaChange(
                    kind: .typeRenamed, path: oldName, old: "message \(oldName)", new: "message \(newName)",
                    detail: "the task type is now \(newName); workers built with either name refuse the other's tasks"
                ))
        }
        walk.compare(oldMessage, newMessage)
        return walk.changes
    }

    static func package(of message: String, in set: SchemaSet) -> String {
        guard let file = set.files.first(where: { $0.declares(message) }) else { return "" }
        return file.package
    }

    struct Walk {
        let old: SchemaSet
        let new: SchemaSet
        let oldPackage: String
        let newPackage: String
        var changes: [SchemaChange] = []
        var visited: Set<String> = []

        /// A type name with its schema's package removed, so that a renamed package compares nested types by name.
        func relative(_ name: String, package: String) -> String {
            package.isEmpty || !name.hasPrefix(package + ".") ? name : String(name.dropFirst(package.count + 1))
        }

        mutating func add(_ kind: SchemaChange.Kind, _ path: String, _ old: String?, _ new: String?, _ detail: String) {
            changes.append(SchemaChange(kind: kind, path: path, old: old, new: new, detail: detail))
        }

        mutating func compare(_ oldMessage: MessageSchema, _ newMessage: MessageSchema) {
            guard visited.insert("m " + oldMessage.fullName).inserted else { return }
            let path = oldMessage.fullName
            for field in oldMessage.fields {
                let where_ = "\(path).\(field.name)"
                guard let now = newMessage.field(number: field.number) else {
                    if newMessage.reserves(field.number) {
                        add(.fieldRemovedAndReserved, where_, field.declaration, nil, "removed, number reserved")
                    } else {
                        add(
                            .fieldRemoved, where_, field.declaration, nil,
                            "removed without `reserved \(field.number);`, so a later field may reuse the number")
                    }
                    continue
                }
                compare(field, now, in: newMessage, path: where_)
            }
            for field in newMessage.fields where oldMessage.field(number: field.number) == nil {
                let where_ = "\(newMessage.fullName).\(field.name)"
                if oldMessage.reserves(field.number) {
                    add(
                        .reservedFieldNumberUsed, where_, "reserved \(field.number)", field.declaration,
                        "uses a number the old schema reserved")
                } else if field.label == .required {
                    add(
                        .requiredFieldAdded, where_, nil, field.declaration,
                        "a new required field: queued tasks lack it")
                } else {
                    add(.fieldAdded, where_, nil, field.declaration, "added")
                }
            }
        }

        mutating func compare(_ field: FieldSchema, _ now: FieldSchema, in newMessage: MessageSchema, path: String) {
            if field.name != now.name {
                if let moved = newMessage.field(named: field.name), moved.number != field.number {
                    add(
                        .fieldNumberReused, path, field.declaration, now.declaration,
                        "number \(field.number) now belongs to \(now.name) while \(field.name) moved to \(moved.number)"
                    )
                } else {
                    add(.fieldRenamed, path, field.declaration, now.declaration, "renamed (same number and type)")
                }
            }
            let oldType = relative(field.typeName, package: oldPackage)
            let newType = relative(now.typeName, package: newPackage)
            if field.type != now.type || oldType != newType {
                add(.fieldTypeChanged, path, field.declaration, now.declaration, "number \(field.number) changed type")
                return
            }
            if (field.label == .repeated) != (now.label == .repeated)
                || (field.label == .required) != (now.label == .required)
            {
                add(.fieldCardinalityChanged, path, field.declaration, now.declaration, "cardinality changed")
            }
            if (field.oneof == nil) != (now.oneof == nil) {
                add(
                    .fieldOneofChanged, path, field.declaration, now.declaration,
                    field.oneof == nil ? "moved into a oneof" : "moved out of its oneof")
            }
            switch field.type {
            case .message, .group:
                if let oldMessage = old.message(field.typeName), let newMessage = new.message(now.typeName) {
                    compare(oldMessage, newMessage)
                }
            case .enumeration:
                if let oldEnum = old.enumeration(field.typeName), let newEnum = new.enumeration(now.typeName) {
                    compare(oldEnum, newEnum)
                }
            default: break
            }
        }

        mutating func compare(_ oldEnum: EnumSchema, _ newEnum: EnumSchema) {
            guard visited.insert("e " + oldEnum.fullName).inserted else { return }
            let declaration = { (value: EnumSchema.Value) in "\(value.name) = \(value.number)" }
            for value in oldEnum.values where oldEnum.value(number: value.number) == value {
                let path = "\(oldEnum.fullName).\(value.name)"
                guard let now = newEnum.value(number: value.number) else {
                    if newEnum.reserves(value.number) {
                        add(.enumValueRemovedAndReserved, path, declaration(value), nil, "removed, number reserved")
                    } else {
                        add(
                            .enumValueRemoved, path, declaration(value), nil,
                            "removed without `reserved \(value.number);`: queued tasks holding it read as unknown")
                    }
                    continue
                }
                guard now.name != value.name else { continue }
                if let moved = newEnum.value(named: value.name) {
                    if moved.number != value.number {
                        add(
                            .enumValueReused, path, declaration(value), declaration(now),
                            "number \(value.number) now means \(now.name) while \(value.name) moved to \(moved.number)")
                    }
                } else {
                    add(.enumValueRenamed, path, declaration(value), declaration(now), "renamed (same number)")
                }
            }
            for value in newEnum.values where oldEnum.value(number: value.number) == nil {
                let path = "\(newEnum.fullName).\(value.name)"
                if oldEnum.reserves(value.number) {
                    add(
                        .reservedEnumNumberUsed, path, "reserved \(value.number)", declaration(value),
                        "uses a number the old schema reserved")
                } else {
                    add(.enumValueAdded, path, nil, declaration(value), "added")
                }
            }
        }
    }
}
