/// The one error type of Protoqueue: every failure, from a malformed payload to a refused publish, is a
/// `ProtoqueueError` with a ``Code`` to switch on and a message that names what was wrong.
///
/// ## Overview
/// ```swift
/// do {
///     let task = try EmailTask(serializedBytes: bytes)
/// } catch let error where error.code == .decodingFailed {
///     print(error.message)  // "protoqueue.examples.EmailTask: truncated varint at byte 7 (field 2)"
/// }
/// ```
/// Codes are an open set: new releases may add codes, so `switch` over them with a `default` branch.
public struct ProtoqueueError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The stable, camel-case name of the code, as it appears in ``ProtoqueueError/description``.
        public let name: String

        package init(_ name: String) {
            self.name = name
        }

        /// The code's name.
        public var description: String { name }

        /// The bytes are not a valid encoding of the expected message type.
        public static let decodingFailed = Code("decodingFailed")
        /// The bytes nest messages deeper than the decoder allows (``ProtoqueueDecodingLimits/maximumDepth``).
        public static let nestingTooDeep = Code("nestingTooDeep")
        /// A value cannot be encoded (for example a string holding U+0000, which protobuf-c cannot carry).
        public static let encodingFailed = Code("encodingFailed")
        /// Bytes that should hold a `google.protobuf.FileDescriptorSet` do not, or a schema the operation needs is
        /// not in it.
        public static let invalidSchema = Code("invalidSchema")
        /// A task type's schema differs from one registered for its queue in a way that breaks tasks already
        /// queued; the message names each field with both definitions.
        public static let incompatibleSchema = Code("incompatibleSchema")
    }

    /// What kind of failure this is.
    public var code: Code
    /// A readable sentence naming what was wrong.
    public var message: String
    /// The `natsStatus` value reported by the NATS C client, when the failure came from it.
    public var natsStatus: Int32?
    /// The JetStream API error code (for example 10058 for a stream name already in use), when the server sent one.
    public var jetStreamErrorCode: Int?
    /// What the library was doing ("publish to \"tasks.a\""), when the error came from a nats.c call: lets it
    /// re-word an error (a timeout that was a permission violation) without parsing ``message``.
    package var operation: String?

    /// Creates an error.
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - message: A readable sentence naming what was wrong.
    ///   - natsStatus: The NATS C client's status code, if any.
    ///   - jetStreamErrorCode: The JetStream API error code, if any.
    public init(_ code: Code, _ message: String, natsStatus: Int32? = nil, jetStreamErrorCode: Int? = nil) {
        self.code = code
        self.message = message
        self.natsStatus = natsStatus
        self.jetStreamErrorCode = jetStreamErrorCode
    }

    /// `code: message`, followed by the NATS status and JetStream error code when present.
    public var description: String {
        var text = "\(code): \(message)"
        if let natsStatus { text += " (natsStatus \(natsStatus))" }
        if let jetStreamErrorCode { text += " (JetStream error \(jetStreamErrorCode))" }
        return text
    }
}
