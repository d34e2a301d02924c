import Foundation

/// Makes an enqueued task unique by a key: while a task with the same key is in scope, enqueueing another stores
/// nothing and returns the first task's receipt, marked ``EnqueueReceipt/duplicate`` (or fails with
/// ``ProtoqueueCodec/ProtoqueueError/Code/duplicate`` when ``onDuplicate`` says so).
///
/// ## Overview
/// ```swift
/// // One sync per customer waiting at a time; a second request while one waits is a duplicate.
/// try await queue.enqueue(sync, options: .init(unique: .init(key: "sync-\(customer)", scope: .untilStarted)))
/// // One reminder per customer and day, whatever happens to the first.
/// let daily = Uniqueness.fields(of: reminder, \.customerID, \.day, scope: .for(.seconds(86_400)))
/// try await queue.enqueue(reminder, options: .init(unique: daily))
/// ```
/// Strong under concurrency: the key is taken by a conditional write on the server, so of any number of producers
/// enqueueing the same key at once, one stores its task (`docs/processing.md`, *Unique tasks*).
public struct Uniqueness: Sendable, Hashable {
    /// The key: 1–256 bytes of UTF-8.
    public var key: String
    /// How long the key stays taken.
    public var scope: Scope
    /// What a second enqueue in scope gets.
    public var onDuplicate: OnDuplicate

    /// Creates a uniqueness rule.
    /// - Parameters:
    ///   - key: The key.
    ///   - scope: How long it stays taken (default ``Scope/untilFinished``).
    ///   - onDuplicate: What a duplicate enqueue gets (default ``OnDuplicate/returnExisting``).
    public init(key: String, scope: Scope = .untilFinished, onDuplicate: OnDuplicate = .returnExisting) {
        self.key = key
        self.scope = scope
        self.onDuplicate = onDuplicate
    }

    /// A rule whose key is made of fields of `task`: their values' descriptions joined by `|` (a producer in
    /// another language builds the same text).
    /// - Parameters:
    ///   - task: The task.
    ///   - fields: Key paths of the fields that make it unique, in order.
    ///   - scope: How long the key stays taken.
    ///   - onDuplicate: What a duplicate enqueue gets.
    /// - Returns: The rule.
    public static func fields<Message>(
        of task: Message, _ fields: PartialKeyPath<Message>..., scope: Scope = .untilFinished,
        onDuplicate: OnDuplicate = .returnExisting
    ) -> Uniqueness {
        let key = fields.map { "\(task[keyPath: $0])" }.joined(separator: "|")
        return Uniqueness(key: key, scope: scope, onDuplicate: onDuplicate)
    }

    /// How long a key stays taken.
    public struct Scope: Sendable, Hashable, CustomStringConvertible {
        enum Kind: Hashable {
            case untilStarted
            case untilFinished
            case duration(milliseconds: Int64)
        }

        let kind: Kind

        /// Until a worker starts the task: a second task may be enqueued while the first runs.
        public static let untilStarted = Scope(kind: .untilStarted)
        /// Until the task is finished: acknowledged, discarded or dead-lettered (not while it waits for a retry).
        public static let untilFinished = Scope(kind: .untilFinished)
        /// For `duration` after the first enqueue, whatever happens to the task.
        /// - Parameter duration: How long; whole milliseconds, at least one.
        /// - Returns: The scope.
        public static func `for`(_ duration: Duration) -> Scope {
            Scope(kind: .duration(milliseconds: duration.milliseconds))
        }

        /// `untilStarted`, `untilFinished` or `for:<milliseconds>`: the `Protoqueue-Unique-Scope` header value.
        public var description: String {
            switch kind {
            case .untilStarted: "untilStarted"
            case .untilFinished: "untilFinished"
            case .duration(let milliseconds): "for:\(milliseconds)"
            }
        }

        /// Reads a `Protoqueue-Unique-Scope` value.
        init?(header: String) {
            switch header {
            case "untilStarted": kind = .untilStarted
            case "untilFinished": kind = .untilFinished
            default:
                guard header.hasPrefix("for:"), let milliseconds = Int64(header.dropFirst(4)), milliseconds > 0 else {
                    return nil
                }
                kind = .duration(milliseconds: milliseconds)
            }
        }

        private init(kind: Kind) { self.kind = kind }
    }

    /// What an enqueue gets when the key is taken.
    public struct OnDuplicate: Sendable, Hashable {
        let fails: Bool
        /// The receipt of the task that holds the key, with ``EnqueueReceipt/duplicate`` set.
        public static let returnExisting = OnDuplicate(fails: false)
        /// A ``ProtoqueueCodec/ProtoqueueError/Code/duplicate`` error naming the task that holds the key.
        public static let fail = OnDuplicate(fails: true)
    }
}
