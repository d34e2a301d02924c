/// One difference between two versions of a task type's schema, as ``SchemaCompatibility`` reports it.
public struct SchemaChange: Sendable, Hashable, CustomStringConvertible {
    /// What changed.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The task type's full name (package or message name) changed.
        case typeRenamed
        /// A field number now has another type (also another message or enum type).
        case fieldTypeChanged
        /// A field became repeated or singular, or required or not.
        case fieldCardinalityChanged
        /// A field moved into or out of a `oneof`.
        case fieldOneofChanged
        /// A field number now belongs to another field, while the field that had it moved to another number.
        case fieldNumberReused
        /// A field was removed without reserving its number, so a later field may reuse it.
        case fieldRemoved
        /// A new field uses a number the old schema reserved.
        case reservedFieldNumberUsed
        /// A new field is `required`: tasks already queued lack it.
        case requiredFieldAdded
        /// An enum value was removed without reserving its number.
        case enumValueRemoved
        /// An enum number now names another value, while the value that had it moved to another number.
        case enumValueReused
        /// A new enum value uses a number the old schema reserved.
        case reservedEnumNumberUsed
        /// A field was added.
        case fieldAdded
        /// A field kept its number and type under another name.
        case fieldRenamed
        /// A field was removed and its number reserved.
        case fieldRemovedAndReserved
        /// An enum value was added.
        case enumValueAdded
        /// An enum value kept its number under another name.
        case enumValueRenamed
        /// An enum value was removed and its number reserved.
        case enumValueRemovedAndReserved

        /// Whether tasks written with the old schema may be misread, or rejected, by code built with the new one.
        public var isBreaking: Bool {
            switch self {
            case .fieldAdded, .fieldRenamed, .fieldRemovedAndReserved, .enumValueAdded, .enumValueRenamed,
                .enumValueRemovedAndReserved:
                false
            default: true
            }
        }
    }

    /// What changed.
    public var kind: Kind
    /// The full name of the message or enum, and the field or value (`acme.Report.format`).
    public var path: String
    /// The old definition as a `.proto` declaration, when there was one.
    public var old: String?
    /// The new definition as a `.proto` declaration, when there is one.
    public var new: String?
    /// What the change means, in a few words.
    public var detail: String

    /// Whether the change breaks tasks already queued.
    public var isBreaking: Bool { kind.isBreaking }

    /// `breaking|compatible <path>: <detail>: '<old>' -> '<new>'`.
    public var description: String {
        var text = "\(isBreaking ? "breaking" : "compatible") \(path): \(detail)"
        switch (old, new) {
        case (let old?, let new?): text += ": '\(old)' -> '\(new)'"
        case (let old?, nil): text += ": was '\(old)'"
        case (nil, let new?): text += ": now '\(new)'"
        case (nil, nil): break
        }
        return text
    }
}
