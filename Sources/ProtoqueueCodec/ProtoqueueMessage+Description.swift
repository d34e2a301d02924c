// The text `print(message)` shows: the Swift type name and the fields that differ from their defaults.

extension ProtoqueueMessage {
    /// The message as readable text: its Swift type name and, in declaration order, every field whose value differs
    /// from its value in ``init()``, then a summary of ``unknownFields``. For example
    /// `ScheduledReport(reportID: "monthly", format: .pdf, maxRows: 500, unknownFields: <1 field, 2 bytes>)`.
    ///
    /// Strings are quoted and escaped, bytes are hex (`<0a1b>`, the first 32 bytes of longer values), enum cases and
    /// oneofs are written as cases (`.pdf`, `.email("a@b")`), map entries in key order. The text is for people and
    /// logs; it is not a serialization format.
    public var description: String {
        ProtoqueueDescription.message(self)
    }
}

extension ProtoqueueUnknownFields: CustomStringConvertible {
    /// A summary: the number of fields and of payload bytes, such as `<2 fields, 7 bytes>`.
    public var description: String {
        let bytes = fields.reduce(0) { $0 + $1.payload.count }
        return "<\(fields.count) field\(fields.count == 1 ? "" : "s"), \(bytes) byte\(bytes == 1 ? "" : "s")>"
    }
}

/// Gives the description access to a boxed (recursive) field's value.
protocol ProtoqueueBoxed {
    var boxedValue: Any { get }
}

extension ProtoqueueBox: ProtoqueueBoxed {
    var boxedValue: Any { value }
}

/// Builds the descriptions of messages from their stored properties (`Mirror`), so generated code carries none.
enum ProtoqueueDescription {
    /// Generated code stores a recursive field `x` as `_protoqueueStorage_x`.
    static let storagePrefix = "_protoqueueStorage_"
    /// The most bytes of a `bytes` value written out.
    static let bytesShown = 32

    static func message<Message: ProtoqueueMessage>(_ message: Message) -> String {
        var defaults: [String: Any] = [:]
        for child in Mirror(reflecting: Message()).children {
            if let label = child.label { defaults[label] = child.value }
        }
        var parts: [String] = []
        for child in Mirror(reflecting: message).children {
            guard let label = child.label, label != "unknownFields" else { continue }
            if let defaultValue = defaults[label], isEqual(child.value, defaultValue) { continue }
            let name = label.hasPrefix(storagePrefix) ? String(label.dropFirst(storagePrefix.count)) : label
            parts.append("\(name): \(value(child.value))")
        }
        if !message.unknownFields.isEmpty {
            parts.append("unknownFields: \(message.unknownFields)")
        }
        return "\(typeName(Message.self))(\(parts.joined(separator: ", ")))"
    }

    /// `Outer.Inner` for a type declared in any module (the module name is left out).
    static func typeName(_ type: Any.Type) -> String {
        let qualified = String(reflecting: type)
        guard let dot = qualified.firstIndex(of: ".") else { return qualified }
        return String(qualified[qualified.index(after: dot)...])
    }

    /// The value inside any number of optionals and boxes, or nil for an empty optional.
    static func unwrapped(_ value: Any) -> Any? {
        if let box = value as? any ProtoqueueBoxed { return unwrapped(box.boxedValue) }
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first.flatMap { unwrapped($0.value) }
    }

    static func isEqual(_ value: Any, _ other: Any) -> Bool {
        switch (unwrapped(value), unwrapped(other)) {
        case (nil, nil): return true
        case (let value?, let other?):
            guard let value = value as? AnyHashable, let other = other as? AnyHashable else { return false }
            return value == other
        default: return false
        }
    }

    /// One field value (or element, key, payload) as text.
    static func value(_ value: Any) -> String {
        guard let value = unwrapped(value) else { return "nil" }
        if let message = value as? any ProtoqueueMessage { return message.description }
        if let text = value as? String { return String(reflecting: text) }
        if type(of: value) == [UInt8].self, let bytes = value as? [UInt8] { return self.bytes(bytes) }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .collection?:
            return "[" + mirror.children.map { self.value($0.value) }.joined(separator: ", ") + "]"
        case .dictionary?:
            let entries = mirror.children.map { entry -> (key: Any, value: Any) in
                let pair = Array(Mirror(reflecting: entry.value).children)
                return (pair[0].value, pair[1].value)
            }
            guard !entries.isEmpty else { return "[:]" }
            let sorted = entries.sorted { precedes($0.key, $1.key) }
            return "[" + sorted.map { "\(self.value($0.key)): \(self.value($0.value))" }.joined(separator: ", ") + "]"
        case .enum?:
            guard let payload = mirror.children.first else { return ".\(value)" }
            return ".\(payload.label ?? "")(\(self.value(payload.value)))"
        default:
            return String(describing: value)
        }
    }

    /// Hex, such as `<0a1bff>`; past ``bytesShown`` bytes, the first ones and the count: `<0a1b… (100 bytes)>`.
    static func bytes(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var text = "<"
        for byte in bytes.prefix(bytesShown) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return text + (bytes.count > bytesShown ? "… (\(bytes.count) bytes)>" : ">")
    }

    /// The order of map keys: numbers and strings ascending, `false` before `true`.
    static func precedes(_ key: Any, _ other: Any) -> Bool {
        if let key = key as? Bool, let other = other as? Bool { return !key && other }
        guard let key = key as? any Comparable else { return false }
        return isLess(key, other)
    }

    static func isLess<Key: Comparable>(_ key: Key, _ other: Any) -> Bool {
        guard let other = other as? Key else { return false }
        return key < other
    }
}
