// Swift enums for protobuf enums.

extension SwiftFileEmitter {
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
}
