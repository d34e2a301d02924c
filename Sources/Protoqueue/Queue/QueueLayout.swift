import ProtoqueueSchema

/// The subjects and names one queue uses; derived from its name and configuration.
///
/// Layout (version 1, see `docs/wire-format.md`):
/// - stream `<stream>` captures `<subject>.ready.>`, `<subject>.scheduled.>` and `<subject>.control.>`;
/// - ready tasks are published to `<subject>.ready.<tier>` (tier `default` today; priorities add tiers);
/// - tasks waiting for a retry are held on `<subject>.scheduled.<tier>` until due, then moved to `ready`;
///   `<subject>.control.>` is reserved for the library;
/// - the durable consumer filters `<subject>.ready.>`, the scheduled-task consumer `<subject>.scheduled.>`;
/// - the dead-letter stream is `<stream>_DLQ` capturing `<subject>_dlq` (outside `<subject>.>`), unless
///   ``QueueConfiguration/deadLetter`` names others.
public struct QueueLayout: Sendable, Hashable {
    /// The stream name.
    public let streamName: String
    /// The subject prefix.
    public let subject: String
    /// The durable consumer's name.
    public let consumerName: String
    /// The durable consumer that holds tasks waiting for a retry until they are due: `<consumer>-scheduled`.
    public let scheduledConsumerName: String
    /// The dead-letter stream's name.
    public let deadLetterStreamName: String
    /// The dead-letter subject.
    public let deadLetterSubject: String
    /// Whether ``consumerName`` is the scheduled-task consumer: the layout a worker's scheduled-task processor runs
    /// with (``scheduledTasks``).
    let isScheduledTasks: Bool
    /// The priority tier whose consumer ``consumerName`` is (``tier(_:)``); `nil` for the queue's own layout.
    let tier: String?
    /// The tier of tasks enqueued without one: ``Priorities/defaultTier``, `default` without priorities.
    let defaultTierName: String
    /// The priority tiers, highest first; `nil` for a queue without tiers (one consumer filtering
    /// `<subject>.ready.>`).
    let tierNames: [String]?

    /// The consumers workers pull tasks from: the durable consumer, or one per priority tier.
    var workerConsumers: [QueueLayout] { tierNames.map { $0.map(tier) } ?? [self] }
    /// Deliveries the server allows beyond the attempts, in which a worker only dead-letters the task.
    public static let graceDeliveries = 2

    /// What the stream captures: ready, scheduled and control subjects; not `<subject>.events.>`, whose lifecycle
    /// events are core NATS messages.
    public var streamSubjects: [String] { ["\(subject).ready.>", "\(subject).scheduled.>", "\(subject).control.>"] }
    /// What streams made before lifecycle events captured; still accepted while events are off.
    var legacyStreamSubjects: [String] { ["\(subject).>"] }
    /// The subject of lifecycle events of `kind` (`<subject>.events.<kind>`).
    package func eventSubject(_ kind: String) -> String { "\(subject).events.\(kind)" }
    /// The consumer's filter subject (of a queue without priority tiers; a tier's consumer has two).
    public var consumerFilter: String { isScheduledTasks ? "\(subject).scheduled.>" : "\(subject).ready.>" }
    /// The consumer's filter subjects: ``consumerFilter``, or for a tier's consumer `<subject>.ready.<tier>` and
    /// `<subject>.ready.<tier>.>`.
    var consumerFilters: [String] {
        guard let tier else { return [consumerFilter] }
        return ["\(subject).ready.\(tier)", "\(subject).ready.\(tier).>"]
    }
    /// The subject tasks are published to (`<subject>.ready.default`; priorities will add tiers).
    public var readySubject: String { readySubject(tier: defaultTierName) }
    /// The tier of tasks published without one.
    static let defaultTier = "default"

    /// `<subject>.ready.<route>`: a tier, optionally followed by more tokens (``route(of:)``).
    func readySubject(tier route: String) -> String { "\(subject).ready.\(route)" }
    /// `<subject>.scheduled.<route>`.
    func scheduledSubject(tier route: String) -> String { "\(subject).scheduled.\(route)" }

    /// The library's records in the stream (schedules, unique-key locks): `<subject>.control.>`.
    var controlFilter: String { "\(subject).control.>" }
    /// `<subject>.control.schedules.<name>`: the record of a declared schedule (``ScheduleRecord``).
    func scheduleRecordSubject(_ name: String) -> String { "\(subject).control.schedules.\(name)" }
    /// Every schedule record: `<subject>.control.schedules.*`.
    var scheduleRecordFilter: String { "\(subject).control.schedules.*" }
    /// `<subject>.ready.default.schedule.<name>`: where a schedule's tick tasks are enqueued.
    func scheduleTaskSubject(_ name: String) -> String { readySubject(tier: "\(defaultTierName).schedule.\(name)") }
    /// A schedule's tasks wherever they wait: `<subject>.*.*.schedule.<name>` (ready or scheduled, any tier).
    func scheduleTaskFilter(_ name: String) -> String { "\(subject).*.*.schedule.\(name)" }

    /// The key-value bucket every queue's schemas and policy are registered in (wire format §6c).
    static let registryBucket = "protoqueue_registry"
    /// The bucket's stream, `KV_protoqueue_registry`.
    static let registryStreamName = "KV_\(registryBucket)"
    /// The bucket's subjects, `$KV.protoqueue_registry.>`.
    static let registrySubjects = "$KV.\(registryBucket).>"
    /// Key `<stream>.schemas.<fingerprint>` of the registry: a registered task schema (``RegisteredSchema``).
    func schemaRecordSubject(_ fingerprint: SchemaFingerprint) -> String {
        "$KV.\(Self.registryBucket).\(streamName).schemas.\(fingerprint)"
    }
    /// Every schema record of the queue: key `<stream>.schemas.*`.
    var schemaRecordFilter: String { "$KV.\(Self.registryBucket).\(streamName).schemas.*" }
    /// Key `<stream>.policy` of the registry: the queue's processing policy (``QueuePolicyRecord``).
    var policyRecordSubject: String { "$KV.\(Self.registryBucket).\(streamName).policy" }

    /// `<subject>.control.unique.<token>`: the lock of a uniqueness key (``UniqueLock``).
    func uniqueLockSubject(_ token: String) -> String { "\(subject).control.unique.\(token)" }
    /// The tasks of a uniqueness key wherever they wait: `<subject>.*.*.unique.<token>`.
    func uniqueTaskFilter(_ token: String) -> String { "\(subject).*.*.unique.\(token)" }

    /// What follows `ready.` or `scheduled.` in a task subject: its tier, then any further tokens (a schedule's
    /// tasks carry `schedule.<name>`), which a task keeps when it moves between the two; the default tier when the
    /// subject is neither or the rest is not a valid subject tail.
    func route(of taskSubject: String) -> String {
        for kind in ["ready", "scheduled"] {
            let prefix = "\(subject).\(kind)."
            if taskSubject.hasPrefix(prefix) {
                let route = taskSubject.dropFirst(prefix.count)
                if !route.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                    return String(route)
                }
            }
        }
        return defaultTierName
    }

    /// This layout with the scheduled-task consumer in place of the workers' one.
    var scheduledTasks: QueueLayout {
        QueueLayout(copying: self, consumerName: scheduledConsumerName, isScheduledTasks: true, tier: nil)
    }

    /// The layout of priority tier `tier`'s consumer, `<consumer>-tier-<tier>`, which filters the tier's subjects.
    func tier(_ tier: String) -> QueueLayout {
        QueueLayout(copying: self, consumerName: "\(consumerName)-tier-\(tier)", isScheduledTasks: false, tier: tier)
    }

    init(queueName: String, configuration: QueueConfiguration) throws(ProtoqueueError) {
        try Validation.token(queueName, kind: "queue name")
        try Validation.name(queueName, kind: "queue")
        streamName = configuration.streamName ?? queueName
        try Validation.name(streamName, kind: "stream")
        subject = configuration.subject ?? "protoqueue.\(queueName)"
        try Validation.subject(subject, kind: "queue subject")
        consumerName = configuration.consumer.durableName ?? "\(queueName)-workers"
        try Validation.name(consumerName, kind: "consumer")
        scheduledConsumerName = "\(consumerName)-scheduled"
        try Validation.name(scheduledConsumerName, kind: "scheduled-task consumer")
        isScheduledTasks = false
        tier = nil
        defaultTierName = configuration.priorities.defaultTier
        tierNames = configuration.priorities.isTiered ? configuration.priorities.tiers.map(\.name) : nil
        deadLetterStreamName = configuration.deadLetter.streamName ?? "\(streamName)_DLQ"
        try Validation.name(deadLetterStreamName, kind: "dead-letter stream")
        deadLetterSubject = configuration.deadLetter.subject ?? "\(subject)_dlq"
        try Validation.subject(deadLetterSubject, kind: "dead-letter subject")
        if deadLetterSubject.hasPrefix(subject + ".") || deadLetterStreamName == streamName {
            throw ProtoqueueError(
                .invalidConfiguration,
                "the dead-letter stream and subject (\"\(deadLetterStreamName)\", \"\(deadLetterSubject)\") must lie "
                    + "outside the work stream \"\(streamName)\" and its subjects \"\(subject).>\""
            )
        }
    }

    private init(copying other: QueueLayout, consumerName: String, isScheduledTasks: Bool, tier: String?) {
        self.tier = tier
        defaultTierName = other.defaultTierName
        tierNames = other.tierNames
        streamName = other.streamName
        subject = other.subject
        self.consumerName = consumerName
        scheduledConsumerName = other.scheduledConsumerName
        deadLetterStreamName = other.deadLetterStreamName
        deadLetterSubject = other.deadLetterSubject
        self.isScheduledTasks = isScheduledTasks
    }
}
