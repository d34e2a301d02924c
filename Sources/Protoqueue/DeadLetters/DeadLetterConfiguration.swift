/// Where failed tasks go: a stream of their own, beside the work stream.
///
/// ## Overview
/// On by default: stream `<stream>_DLQ` capturing `<subject>_dlq`. Each record holds the task's original payload
/// bytes and headers plus `Protoqueue-DLQ-*` failure headers (see `docs/wire-format.md`).
/// ```swift
/// var configuration = QueueConfiguration()
/// configuration.deadLetter = .init(streamName: "EMAILS_FAILED", subject: "failed.emails")
/// configuration.deadLetter = .disabled    // failed tasks are terminated and only logged
/// ```
public struct DeadLetterConfiguration: Sendable, Hashable {
    /// Whether failed tasks are kept.
    public var enabled: Bool
    /// The dead-letter stream's name; `nil` uses `<stream>_DLQ`.
    public var streamName: String?
    /// The subject records are published to; `nil` uses `<subject>_dlq`. It must lie outside the work stream's
    /// `<subject>.>`.
    public var subject: String?
    /// Records older than this are removed; `nil` keeps them until replayed or purged.
    public var maxAge: Duration?

    /// Creates a dead-letter configuration (enabled, default names, kept forever).
    /// - Parameters:
    ///   - enabled: Whether failed tasks are kept.
    ///   - streamName: The stream name, `nil` for `<stream>_DLQ`.
    ///   - subject: The subject, `nil` for `<subject>_dlq`.
    ///   - maxAge: Retention, `nil` for unlimited.
    public init(enabled: Bool = true, streamName: String? = nil, subject: String? = nil, maxAge: Duration? = nil) {
        self.enabled = enabled
        self.streamName = streamName
        self.subject = subject
        self.maxAge = maxAge
    }

    /// No dead-letter stream: failed tasks are terminated and logged.
    public static let disabled = DeadLetterConfiguration(enabled: false)
}

/// Why a task was dead-lettered (`Protoqueue-DLQ-Reason`). An open set of stable names.
public struct DeadLetterReason: Sendable, Hashable, CustomStringConvertible {
    /// The stable name written to the header.
    public let name: String

    /// Creates a reason from its header value.
    /// - Parameter name: The header value.
    public init(_ name: String) { self.name = name }

    /// The handler returned ``TaskResult/failure(_:details:)-enum.case``.
    public static let failed = DeadLetterReason("failed")
    /// The handler threw or asked for a retry on the last allowed attempt.
    public static let retriesExhausted = DeadLetterReason("retriesExhausted")
    /// The payload did not decode as the queue's message type (or `Protoqueue-Type` named another type).
    public static let decode = DeadLetterReason("decode")
    /// The task was delivered more times than attempts are allowed without being settled: workers crashed or
    /// the ack wait expired on it. The handler was not run again.
    public static let maxDeliveries = DeadLetterReason("maxDeliveries")
    /// The task's first attempt was delivered after its deadline (``EnqueueOptions/startBy``). The handler was
    /// not run.
    public static let expired = DeadLetterReason("expired")
    /// The handler ran past its timeout (``QueueConfiguration/timeout``, ``EnqueueOptions/timeout``) on the last
    /// allowed attempt.
    public static let timeout = DeadLetterReason("timeout")

    /// The name.
    public var description: String { name }
}
