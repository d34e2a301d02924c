/// A queue's priority tiers (``QueueConfiguration/priorities``): each tier's tasks wait on their own subject,
/// `<subject>.ready.<tier>`, and workers share their slots among the tiers that have work.
///
/// ## Overview
/// ```swift
/// var configuration = QueueConfiguration()
/// configuration.priorities = .weighted(["high": 6, "normal": 3, "low": 1], default: "normal")
/// let queue = try await Queue<EmailTask>(connection: connection, name: "emails", configuration: configuration,
///     logger: logger)
/// try await queue.enqueue(task, options: .init(priority: "high"))
/// ```
/// With ``weighted(_:default:)-(KeyValuePairs<String,Int>,_)``, a worker whose tiers all have work starts tasks
/// of each in proportion to its weight; a tier alone gets the whole worker. With ``strict(_:default:)``, a tier
/// starts tasks only while no tier before it has work. Tiers need nats-server 2.11 or later (one consumer per tier,
/// each with two filter subjects).
public struct Priorities: Sendable, Hashable {
    /// One tier: its name (a subject token) and weight.
    public struct Tier: Sendable, Hashable {
        /// The name, the last token of the tier's subject.
        public let name: String
        /// The share of slots relative to the other tiers
        /// (``Priorities/weighted(_:default:)-(KeyValuePairs<String,Int>,_)``); 1 for every tier of
        /// ``Priorities/strict(_:default:)``.
        public let weight: Int
    }

    /// The tiers, highest priority first.
    public let tiers: [Tier]
    /// The tier of a task enqueued without one.
    public let defaultTier: String
    /// Whether tiers are served in order (``strict(_:default:)``) instead of by weight.
    public let isStrict: Bool

    /// One tier, `default`: a queue without priorities (its workers' consumer filters `<subject>.ready.>`).
    public static let none = Priorities(
        tiers: [Tier(name: QueueLayout.defaultTier, weight: 1)],
        defaultTier: QueueLayout.defaultTier, isStrict: false)

    /// Tiers sharing slots by weight, highest priority first.
    /// - Parameters:
    ///   - tiers: Name and weight (at least 1) of each tier, in priority order.
    ///   - defaultTier: The tier of tasks enqueued without one; one of `tiers`.
    public static func weighted(_ tiers: KeyValuePairs<String, Int>, default defaultTier: String) -> Priorities {
        weighted(tiers.map { (name: $0.key, weight: $0.value) }, default: defaultTier)
    }

    /// Tiers sharing slots by weight, highest priority first, from a list built at run time.
    /// - Parameters:
    ///   - tiers: Name and weight (at least 1) of each tier, in priority order.
    ///   - defaultTier: The tier of tasks enqueued without one; one of `tiers`.
    public static func weighted(_ tiers: [(name: String, weight: Int)], default defaultTier: String) -> Priorities {
        Priorities(
            tiers: tiers.map { Tier(name: $0.name, weight: $0.weight) }, defaultTier: defaultTier, isStrict: false)
    }

    /// Tiers served in order: a tier starts tasks only while no tier before it waits for slots.
    /// - Parameters:
    ///   - tiers: The tier names, highest priority first.
    ///   - defaultTier: The tier of tasks enqueued without one; one of `tiers`.
    public static func strict(_ tiers: [String], default defaultTier: String) -> Priorities {
        Priorities(tiers: tiers.map { Tier(name: $0, weight: 1) }, defaultTier: defaultTier, isStrict: true)
    }

    /// Whether the queue has tiers of its own (and so one consumer per tier).
    var isTiered: Bool { self != .none }

    /// Throws ``ProtoqueueCodec/ProtoqueueError/Code/invalidConfiguration`` naming the first tier out of rule.
    func validate() throws(ProtoqueueError) {
        func bad(_ text: String) -> ProtoqueueError { ProtoqueueError(.invalidConfiguration, "priorities: \(text)") }
        guard !tiers.isEmpty else { throw bad("at least one tier is needed") }
        guard tiers.count <= 10 else { throw bad("at most 10 tiers, not \(tiers.count)") }
        var seen: Set<String> = []
        for tier in tiers {
            try Validation.token(tier.name, kind: "priority tier")
            guard seen.insert(tier.name).inserted else { throw bad("tier \"\(tier.name)\" is listed twice") }
            guard (1...1000).contains(tier.weight) else {
                throw bad("tier \"\(tier.name)\" has weight \(tier.weight); weights are 1 to 1,000")
            }
        }
        guard seen.contains(defaultTier) else {
            throw bad("the default tier \"\(defaultTier)\" is not one of \(tiers.map(\.name))")
        }
    }

    /// The tier a task goes to: `requested`, else the default one.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidConfiguration`` for a tier the queue does not have.
    func tier(_ requested: String?) throws(ProtoqueueError) -> String {
        guard let requested else { return defaultTier }
        guard tiers.contains(where: { $0.name == requested }) else {
            throw ProtoqueueError(
                .invalidConfiguration, "priority \"\(requested)\" is not a tier of the queue (\(tiers.map(\.name)))")
        }
        return requested
    }
}

extension WireFormat {
    /// On a task of a queue with priority tiers: its tier, equal to the last token of its ready subject.
    public static let priorityHeader = "Protoqueue-Priority"
}
