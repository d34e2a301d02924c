// A `public struct` per message, and an enum per oneof.

extension SwiftFileEmitter {
    mutating func emitMessage(_ message: ProtoMessage) {
        let name = SwiftNaming.typeName(message.name)
        doc(message.comment, fallback: "The protobuf message `\(message.fullName)`.")
        line("public struct \(name): ProtoqueueCodec.ProtoqueueMessage, Swift.Sendable, Swift.Hashable {")
        indent += 1
        line("/// The full protobuf name of this message.")
        line("public static let protoMessageName: Swift.String = \(SwiftNaming.stringLiteral(message.fullName))")
        line("/// The schema of this message: its file's `FileDescriptorSet`, imports included.")
        line("public static var protoFileDescriptorSet: [Swift.UInt8] { _protoqueueFileDescriptorSet }")
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
                // Stored right after its property, so that a message's description lists fields in schema order.
                line("var _protoqueueStorage_\(property): ProtoqueueCodec.ProtoqueueBox<\(valueType(field))>? = nil")
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
        line("/// - Throws: `ProtoqueueError` (`decodingFailed` or `nestingTooDeep`) for bytes that are not a valid")
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
        line("/// - Throws: `ProtoqueueError` (`encodingFailed`) for a string holding U+0000 or an unset required")
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
}
