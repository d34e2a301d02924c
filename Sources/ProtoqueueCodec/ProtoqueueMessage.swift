/// A protobuf message as a Swift value: what the code generator emits for every `message` in a `.proto` file,
/// and what a `Queue` of the Protoqueue module carries.
///
/// ## Overview
/// Generated types encode to and decode from standard protobuf bytes through protobuf-c, so a producer in any
/// language that shares the `.proto` file reads and writes the same bytes.
/// ```swift
/// let task = EmailTask(to: "ada@example.com", subject: "Hi")
/// let bytes = try task.serializedBytes()
/// let back = try EmailTask(serializedBytes: bytes)
/// ```
/// Fields a newer schema added and this build does not know survive a decode → encode round trip
/// (see ``unknownFields``). `print(message)` shows the type and the fields that differ from their defaults
/// (see ``description``).
public protocol ProtoqueueMessage: Sendable, Hashable, CustomStringConvertible {
    /// The full protobuf name of the message, package included (for example `protoqueue.examples.EmailTask`).
    static var protoMessageName: String { get }

    /// Creates a message with every field at its default value.
    init()

    /// Decodes a message from its protobuf encoding.
    /// - Parameter bytes: The protobuf encoding of a message of this type.
    /// - Throws: ``ProtoqueueError`` with code ``ProtoqueueError/Code/decodingFailed`` for malformed, truncated or
    ///   wrongly typed bytes, or ``ProtoqueueError/Code/nestingTooDeep`` past the depth limit.
    init(serializedBytes bytes: [UInt8]) throws(ProtoqueueError)

    /// Encodes the message to protobuf bytes. Map entries are written in key order, so equal messages encode
    /// to equal bytes.
    /// - Throws: ``ProtoqueueError`` with code ``ProtoqueueError/Code/encodingFailed`` when a value cannot be
    ///   represented (a string holding U+0000).
    func serializedBytes() throws(ProtoqueueError) -> [UInt8]

    /// Fields present in the decoded bytes that this schema does not declare, kept so that encoding the
    /// message again writes them back unchanged.
    var unknownFields: ProtoqueueUnknownFields { get set }

    /// The schema of the message: a serialized `google.protobuf.FileDescriptorSet` holding the `.proto` file that
    /// declares it and every file that file imports, without comments. A queue registers it on the server so that
    /// tools read tasks as JSON and check schema changes (`docs/schemas.md`). Empty for a type written by hand
    /// (the default), whose queues register no schema.
    static var protoFileDescriptorSet: [UInt8] { get }
}

extension ProtoqueueMessage {
    /// No schema: the type was written by hand.
    public static var protoFileDescriptorSet: [UInt8] { [] }
}

/// Limits the decoder enforces on untrusted bytes.
public enum ProtoqueueDecodingLimits {
    /// The deepest nesting of messages a decoder accepts, as in Google's protobuf runtimes.
    /// protobuf-c itself has no limit and overflows the stack on deeply nested input.
    public static let maximumDepth = 100
}

/// Fields of a decoded message that its schema does not declare, in the order they were read.
public struct ProtoqueueUnknownFields: Hashable, Sendable {
    /// One unknown field as it appeared on the wire.
    public struct Field: Hashable, Sendable {
        /// The field number.
        public var number: UInt32
        /// The protobuf wire type: 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit.
        public var wireType: UInt8
        /// The field's payload without its tag: the varint bytes, the fixed-width bytes, or the
        /// length-delimited contents without the length prefix.
        public var payload: [UInt8]

        /// Creates an unknown field.
        /// - Parameters:
        ///   - number: The field number.
        ///   - wireType: The protobuf wire type (0, 1, 2 or 5).
        ///   - payload: The payload bytes, without tag or length prefix.
        public init(number: UInt32, wireType: UInt8, payload: [UInt8]) {
            self.number = number
            self.wireType = wireType
            self.payload = payload
        }
    }

    /// The fields, in wire order.
    public var fields: [Field]

    /// Creates a set of unknown fields.
    /// - Parameter fields: The fields, in wire order.
    public init(_ fields: [Field] = []) {
        self.fields = fields
    }

    /// Whether no unknown field was read.
    public var isEmpty: Bool { fields.isEmpty }
}
