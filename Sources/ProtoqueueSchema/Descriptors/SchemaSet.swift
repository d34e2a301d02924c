public import ProtoqueueCodec

/// The message and enum types of a serialized `google.protobuf.FileDescriptorSet`: what `protoc
/// --descriptor_set_out` writes, and what generated types carry as
/// `ProtoqueueMessage.protoFileDescriptorSet`.
///
/// ## Overview
/// ```swift
/// let schemas = try SchemaSet(descriptorSet: EmailTask.protoFileDescriptorSet)
/// let task = schemas.message("protoqueue.examples.EmailTask")!
/// print(task.fields.map(\.declaration))
/// ```
public struct SchemaSet: Sendable, Hashable {
    /// One `.proto` file of the set.
    public struct File: Sendable, Hashable {
        /// Its path as protoc saw it (`reports/scheduled_report.proto`).
        public var name: String
        /// Its package, empty when it has none.
        public var package: String
        /// `proto2`, `proto3` or `editions`.
        public var syntax: String
        /// The files it imports.
        public var dependencies: [String]
        /// The full names of the messages it declares, nested ones included.
        public var messageNames: [String]

        func declares(_ message: String) -> Bool { messageNames.contains(message) }
    }

    /// The files, in the order of the set.
    public var files: [File]
    /// Every message type (nested ones included) by full name.
    public var messages: [String: MessageSchema]
    /// Every enum type (nested ones included) by full name.
    public var enums: [String: EnumSchema]
    /// Each file's serialized `FileDescriptorProto` without source info, by file name.
    let fileBytes: [String: [UInt8]]

    /// Reads a serialized `FileDescriptorSet`.
    /// - Throws: `ProtoqueueError` with code `invalidSchema`
    ///   when the bytes are not one, naming the byte offset.
    public init(descriptorSet bytes: [UInt8]) throws(ProtoqueueError) {
        var parser = DescriptorParser()
        var reader = WireReader(bytes[...], code: .invalidSchema, what: "FileDescriptorSet")
        while let (number, value) = try reader.next() {
            guard number == 1 else { continue }
            guard let slice = value.slice else { throw reader.failure("field file is not length-delimited", at: 0) }
            try parser.file(slice)
        }
        self.files = parser.files
        self.messages = parser.messages
        self.enums = parser.enums
        self.fileBytes = parser.fileBytes
    }

    /// The message called `fullName` (no leading dot).
    public func message(_ fullName: String) -> MessageSchema? { messages[fullName] }
    /// The enum called `fullName` (no leading dot).
    public func enumeration(_ fullName: String) -> EnumSchema? { enums[fullName] }

    /// The files message `fullName` needs: the file declaring it and everything that file imports, directly or not,
    /// as a serialized `FileDescriptorSet` in this set's order, without source info. Two sets holding equal files
    /// give equal bytes for the message, whatever else they hold.
    /// - Throws: `invalidSchema` when the message or an import is missing.
    public func descriptorSet(for fullName: String) throws(ProtoqueueError) -> [UInt8] {
        guard let declaring = files.first(where: { $0.declares(fullName) }) else {
            throw ProtoqueueError(.invalidSchema, "the descriptor set does not declare message \(fullName)")
        }
        return try descriptorSet(forFile: declaring.name)
    }

    /// The file called `name` and everything it imports, directly or not, as a serialized `FileDescriptorSet` in
    /// this set's order, without source info.
    /// - Throws: `invalidSchema` when the file or an import is missing.
    public func descriptorSet(forFile name: String) throws(ProtoqueueError) -> [UInt8] {
        var needed: Set<String> = []
        var pending = [name]
        while let next = pending.popLast() {
            guard needed.insert(next).inserted else { continue }
            guard let file = files.first(where: { $0.name == next }) else {
                throw ProtoqueueError(.invalidSchema, "\(name) needs \(next), which the descriptor set does not hold")
            }
            pending += file.dependencies
        }
        return Self.frame(files.filter { needed.contains($0.name) }.map { fileBytes[$0.name] ?? [] })
    }

    /// Reads serialized `FileDescriptorProto`s, in order (each after the files it imports).
    package init(fileDescriptors: [[UInt8]]) throws(ProtoqueueError) {
        try self.init(descriptorSet: Self.frame(fileDescriptors))
    }

    /// A `FileDescriptorSet` holding `files` (field 1, repeated).
    static func frame(_ files: [[UInt8]]) -> [UInt8] {
        var writer = WireWriter()
        for body in files { writer.lengthDelimited(1, body) }
        return writer.bytes
    }

    /// The fingerprint of message `fullName`: of ``descriptorSet(for:)``.
    public func fingerprint(of fullName: String) throws(ProtoqueueError) -> SchemaFingerprint {
        SchemaFingerprint(descriptorSet: try descriptorSet(for: fullName))
    }
}
