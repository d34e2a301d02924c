/// What opening a queue does when its task type's schema would break tasks written with a schema registered for
/// the queue (`SchemaCompatibility` lists the rules).
public struct SchemaCheck: Sendable, Hashable, CustomStringConvertible {
    let refuses: Bool

    /// Refuse to open the queue with ``/ProtoqueueCodec/ProtoqueueError/Code/incompatibleSchema``, naming each
    /// breaking change; nothing is registered (the default).
    public static let refuse = SchemaCheck(refuses: true)
    /// Log a warning naming each breaking change, then register the schema and open the queue.
    public static let warn = SchemaCheck(refuses: false)

    /// `refuse` or `warn`.
    public var description: String { refuses ? "refuse" : "warn" }
}
