/// Every message and enum of a request, indexed by full protobuf name, with the Swift and C names the
/// generated code uses and the facts about recursion the emitter needs.
struct SchemaIndex {
    struct MessageEntry {
        var message: ProtoMessage
        var file: ProtoFile
        /// The Swift type path, for example `Outer.Inner`.
        var swiftPath: String
    }

    struct EnumEntry {
        var enumeration: ProtoEnum
        var file: ProtoFile
        var swiftPath: String
    }

    private(set) var messages: [String: MessageEntry] = [:]
    private(set) var enums: [String: EnumEntry] = [:]
    /// Messages whose schema lets messages nest without bound: decoding them checks the depth first.
    private(set) var unboundedDepth: Set<String> = []
    /// `message.fieldNumber` of singular message fields that contain their own message type (directly or
    /// through other singular fields): stored in a box so the Swift struct has a finite size.
    private(set) var boxedFields: Set<String> = []

    init(files: [ProtoFile]) {
        for file in files {
            for message in file.messages { add(message, file: file, parentPath: nil) }
            for enumeration in file.enums {
                enums[enumeration.fullName] = EnumEntry(
                    enumeration: enumeration, file: file, swiftPath: SwiftNaming.typeName(enumeration.name))
            }
        }
        computeRecursion()
    }

    private mutating func add(_ message: ProtoMessage, file: ProtoFile, parentPath: String?) {
        let name = SwiftNaming.typeName(message.name)
        let path = parentPath.map { "\($0).\(name)" } ?? name
        messages[message.fullName] = MessageEntry(message: message, file: file, swiftPath: path)
        for nested in message.nestedMessages { add(nested, file: file, parentPath: path) }
        for enumeration in message.nestedEnums {
            enums[enumeration.fullName] = EnumEntry(
                enumeration: enumeration, file: file,
                swiftPath: "\(path).\(SwiftNaming.typeName(enumeration.name))")
        }
    }

    /// The map entry message of a map field, if the field is a map.
    func mapEntry(_ field: ProtoField) -> ProtoMessage? {
        guard field.label == .repeated, field.type == .message,
            let entry = messages[field.typeName]?.message, entry.isMapEntry
        else { return nil }
        return entry
    }

    /// Message types a message's fields refer to; `containedOnly` keeps only singular fields (stored inline).
    private func edges(_ name: String, containedOnly: Bool) -> [String] {
        guard let message = messages[name]?.message else { return [] }
        var result: [String] = []
        for field in message.fields where field.type == .message {
            if let entry = mapEntry(field) {
                if !containedOnly, let value = entry.fields.first(where: { $0.number == 2 }), value.type == .message {
                    result.append(value.typeName)
                }
            } else if field.label != .repeated || !containedOnly {
                result.append(field.typeName)
            }
        }
        return result
    }

    private func reachable(from start: String, containedOnly: Bool) -> Set<String> {
        var seen: Set<String> = []
        var stack = edges(start, containedOnly: containedOnly)
        while let next = stack.popLast() {
            if seen.insert(next).inserted { stack += edges(next, containedOnly: containedOnly) }
        }
        return seen
    }

    private mutating func computeRecursion() {
        let names = Array(messages.keys)
        let cyclic = Set(names.filter { reachable(from: $0, containedOnly: false).contains($0) })
        for name in names {
            let all = reachable(from: name, containedOnly: false).union([name])
            if !all.isDisjoint(with: cyclic) { unboundedDepth.insert(name) }
            guard let message = messages[name]?.message else { continue }
            for field in message.fields where field.type == .message && field.label != .repeated {
                if field.typeName == name || reachable(from: field.typeName, containedOnly: true).contains(name) {
                    boxedFields.insert("\(name).\(field.number)")
                }
            }
        }
    }
}
