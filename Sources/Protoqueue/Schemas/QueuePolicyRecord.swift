import Foundation

/// The rules a queue's workers follow, as JSON under key `<stream>.policy` of the registry bucket (wire format §6c),
/// so that a worker in another language follows the same attempts, retry delays, timeout and tiers as the Swift
/// ones. Written by every process that opens the queue when it differs from the last record (the last writer's
/// configuration stands).
/// Pure values; `QueuePolicyRecordTests` covers the JSON.
struct QueuePolicyRecord: Codable, Equatable, Sendable {
    /// The retry delays.
    struct Retry: Codable, Equatable, Sendable {
        /// `fixed`, `exponential` or `explicit`.
        var kind: String
        /// `fixed`: the one delay; `explicit`: the delays in order, the last repeating.
        var delaysMs: [Int64]?
        /// `exponential`: `initialMs × multiplier^(attempt − 1)`, at most `maximumMs`, spread by ±`jitter`.
        var initialMs: Int64?
        var multiplier: Double?
        var maximumMs: Int64?
        var jitter: Double?
    }

    /// One priority tier.
    struct Tier: Codable, Equatable, Sendable {
        var name: String
        /// Its weight; 0 in strict order, where `tiers` is the order.
        var weight: Int
    }

    /// The record's format version.
    var version = 1
    /// The queue's name, its subject prefix and its durable consumer (per tier: `<consumer>-tier-<tier>`).
    var queue: String
    var subject: String
    var consumer: String
    /// The full protobuf name of the task type.
    var taskType: String
    /// The attempts a task gets; `nil`: no limit.
    var attempts: Int?
    var retry: Retry
    /// How long one attempt may run; `nil`: no limit.
    var timeoutMs: Int64?
    /// The consumer's ack wait and backoff steps.
    var ackWaitMs: Int64
    var backoffMs: [Int64]
    /// `weighted` or `strict`.
    var priorityMode: String
    var defaultTier: String
    var tiers: [Tier]
    /// The dead-letter stream and subject, `nil` when dead letters are off.
    var deadLetterStream: String?
    var deadLetterSubject: String?
    /// Whether the queue publishes lifecycle events; absent in records of versions before it was added.
    var events: Bool?

    init(queue: String, taskType: String, configuration: QueueConfiguration, layout: QueueLayout) {
        self.queue = queue
        self.subject = layout.subject
        self.consumer = layout.consumerName
        self.taskType = taskType
        self.attempts = configuration.consumer.maxDeliveries
        self.retry = Retry(configuration.retry)
        self.timeoutMs = configuration.timeout.map(Self.milliseconds)
        self.ackWaitMs = Self.milliseconds(configuration.consumer.ackWait)
        self.backoffMs = configuration.consumer.backoff.map(Self.milliseconds)
        let priorities = configuration.priorities
        self.priorityMode = priorities.isStrict ? "strict" : "weighted"
        self.defaultTier = priorities.defaultTier
        self.tiers = priorities.tiers.map { Tier(name: $0.name, weight: priorities.isStrict ? 0 : $0.weight) }
        self.deadLetterStream = configuration.deadLetter.enabled ? layout.deadLetterStreamName : nil
        self.deadLetterSubject = configuration.deadLetter.enabled ? layout.deadLetterSubject : nil
        self.events = configuration.events.isEnabled
    }

    /// The record as JSON with sorted keys, so that equal policies give equal bytes.
    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain strings and numbers cannot fail.
        return (try? Array(encoder.encode(self))) ?? []
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension QueuePolicyRecord.Retry {
    init(_ policy: RetryPolicy) {
        switch policy.kind {
        case .fixed(let delay):
            self.init(kind: "fixed", delaysMs: [QueuePolicyRecord.milliseconds(delay)])
        case .explicit(let delays):
            self.init(kind: "explicit", delaysMs: delays.map(QueuePolicyRecord.milliseconds))
        case .exponential(let initial, let multiplier, let maximum, let jitter):
            self.init(
                kind: "exponential", initialMs: QueuePolicyRecord.milliseconds(initial), multiplier: multiplier,
                maximumMs: QueuePolicyRecord.milliseconds(maximum), jitter: jitter)
        }
    }
}
