/// What opening a ``Queue`` does to the server's streams and consumer.
///
/// ## Overview
/// ```swift
/// // A producer whose user may only publish to the queue's subjects:
/// let queue = try await Queue<EmailTask>(connection: connection, name: "emails", provisioning: .none, logger: logger)
/// ```
public struct Provisioning: Sendable, Hashable, CustomStringConvertible {
    enum Mode: Sendable, Hashable {
        case createOrVerify, verify, none
    }
    let mode: Mode

    /// Creates the work stream, its consumer and the dead-letter stream when they are missing, and compares those
    /// that exist with the configuration (the default).
    public static let createOrVerify = Provisioning(mode: .createOrVerify)
    /// Compares the streams and consumer with the configuration and creates nothing: a missing one is a
    /// ``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound`` error. Needs only read access to the JetStream API.
    public static let verify = Provisioning(mode: .verify)
    /// Reads and creates nothing, for producers whose permissions allow only publishing to the queue's subjects.
    /// Nothing is checked: a stream that does not exist shows on the first enqueue
    /// (``ProtoqueueCodec/ProtoqueueError/Code/noStreamForSubject``), and a task over the stream's maximum message
    /// size is refused by the server instead of before sending.
    public static let none = Provisioning(mode: .none)

    /// `createOrVerify`, `verify` or `none`.
    public var description: String {
        switch mode {
        case .createOrVerify: "createOrVerify"
        case .verify: "verify"
        case .none: "none"
        }
    }
}
