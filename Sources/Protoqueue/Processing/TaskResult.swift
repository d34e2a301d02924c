/// What a handler decided about one task; it drives the acknowledgement sent to JetStream.
///
/// ## Overview
/// ```swift
/// try await queue.process(options: .init(concurrency: 8)) { task, context in
///     guard let template = templates[task.templateID] else {
///         return .failure(TemplateError.unknown(task.templateID), details: ["template": task.templateID])
///     }
///     guard !task.to.isEmpty else { return .discard(reason: "no recipient") }
///     guard try await send(task, with: template) else { return .retry(after: .seconds(30)) }
///     return .success
/// }
/// ```
/// A handler that **throws** is treated like ``retry`` with no delay given: the queue's ``RetryPolicy`` picks the
/// delay, and after the last attempt the task is dead-lettered with the error's text.
public enum TaskResult: Sendable {
    /// Done: the task is acknowledged and removed from the work stream.
    case success
    /// Try again later. The task is negatively acknowledged with a delay: `after`, or the queue's
    /// ``RetryPolicy`` delay for this attempt when `nil`. On the last allowed attempt the task is dead-lettered
    /// (reason ``DeadLetterReason/retriesExhausted``) instead.
    case retry(after: Duration?)
    /// Give up and keep the task: it is copied to the dead-letter stream with the error's text and `details`, then
    /// terminated (reason ``DeadLetterReason/failed``). It is never retried.
    case failure(any Error, details: [String: String])
    /// Give up and drop the task: it is terminated without a dead-letter record, and `reason` is logged. For tasks
    /// that are no longer wanted (the order was cancelled), not for failures worth a look.
    case discard(reason: String)

    /// Try again after the ``RetryPolicy`` delay for this attempt.
    public static var retry: TaskResult { .retry(after: nil) }

    /// Give up with an error and no details; see ``failure(_:details:)-enum.case``.
    /// - Parameter error: Why the task failed; its description is the dead-letter record's error text.
    public static func failure(_ error: any Error) -> TaskResult { .failure(error, details: [:]) }

    /// Give up with a message; see ``failure(_:details:)-enum.case``.
    /// - Parameters:
    ///   - message: Why the task failed; the dead-letter record's error text.
    ///   - details: Extra facts for the record (`Protoqueue-DLQ-Detail-<key>` headers).
    public static func failure(_ message: String, details: [String: String] = [:]) -> TaskResult {
        .failure(TaskFailure(message), details: details)
    }
}

/// An error that is only a message, for ``TaskResult/failure(_:details:)-(String,_)``.
public struct TaskFailure: Error, Hashable, CustomStringConvertible {
    /// What went wrong.
    public var message: String

    /// Creates a failure.
    /// - Parameter message: What went wrong.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

/// How long to wait before the next attempt of a task whose handler threw or returned ``TaskResult/retry``.
///
/// ## Overview
/// ```swift
/// var configuration = QueueConfiguration()
/// configuration.consumer.maxDeliveries = 5                       // attempts
/// configuration.retry = .exponential(initial: .seconds(1), maximum: .seconds(60), jitter: 0.2)
/// configuration.retry = .fixed(.seconds(10))
/// configuration.retry = .explicit([.seconds(1), .seconds(10), .seconds(60)])  // the last repeats
/// ```
/// The number of attempts is ``QueueConfiguration/Consumer/maxDeliveries``; the delay is sent with the negative
/// acknowledgement (`-NAK` with delay), so a retry never burns deliveries immediately.
public struct RetryPolicy: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case fixed(Duration)
        case exponential(initial: Duration, multiplier: Double, maximum: Duration, jitter: Double)
        case explicit([Duration])
    }

    let kind: Kind

    /// The same delay before every retry.
    /// - Parameter delay: The delay; zero or more.
    public static func fixed(_ delay: Duration) -> RetryPolicy { RetryPolicy(kind: .fixed(max(.zero, delay))) }

    /// `initial × multiplier^(attempt − 1)`, capped at `maximum`, then spread by ±`jitter` (a fraction, 0…1)
    /// so that tasks failing together do not come back together.
    /// - Parameters:
    ///   - initial: The delay after the first attempt.
    ///   - multiplier: Growth per attempt (at least 1).
    ///   - maximum: The largest delay before jitter.
    ///   - jitter: Relative spread, clamped to 0…1 (0.2 = ±20 %).
    public static func exponential(
        initial: Duration = .seconds(1),
        multiplier: Double = 2,
        maximum: Duration = .seconds(300),
        jitter: Double = 0.2
    ) -> RetryPolicy {
        RetryPolicy(
            kind: .exponential(
                initial: max(.zero, initial), multiplier: max(1, multiplier), maximum: max(.zero, maximum),
                jitter: min(1, max(0, jitter))))
    }

    /// The delays in order: after attempt 1 the first, after attempt 2 the second, …; the last one repeats.
    /// An empty list means no delay.
    /// - Parameter delays: The delays.
    public static func explicit(_ delays: [Duration]) -> RetryPolicy {
        RetryPolicy(kind: .explicit(delays.map { max(.zero, $0) }))
    }

    /// The default: exponential from 1 s, doubling, at most 5 minutes, ±20 % jitter.
    public static let `default` = RetryPolicy.exponential()

    /// The delay before the attempt after `attempt` (1-based: the attempt that just failed).
    /// - Parameter attempt: The attempt that failed.
    /// - Returns: The delay, jitter applied.
    public func delay(afterAttempt attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, using: &generator)
    }

    /// The delay before the attempt after `attempt`, drawing jitter from `generator` (for reproducible tests).
    /// - Parameters:
    ///   - attempt: The attempt that failed (1-based).
    ///   - generator: The random source for jitter.
    /// - Returns: The delay, jitter applied.
    public func delay<G: RandomNumberGenerator>(afterAttempt attempt: Int, using generator: inout G) -> Duration {
        let n = max(1, attempt)
        switch kind {
        case .fixed(let delay):
            return delay
        case .explicit(let delays):
            guard let last = delays.last else { return .zero }
            return n - 1 < delays.count ? delays[n - 1] : last
        case .exponential(let initial, let multiplier, let maximum, let jitter):
            let base = initial.seconds * pow(multiplier, Double(min(n - 1, 64)))
            let capped = min(base, maximum.seconds)
            let spread = jitter == 0 ? 1 : Double.random(in: (1 - jitter)...(1 + jitter), using: &generator)
            return .nanoseconds(Int64(min(Double(Int64.max / 2), capped * spread * 1e9)))
        }
    }

    /// A readable form, e.g. `exponential(1 s × 2, max 300 s, ±20%)`.
    public var description: String {
        switch kind {
        case .fixed(let delay): "fixed(\(delay))"
        case .explicit(let delays): "explicit(\(delays))"
        case .exponential(let initial, let multiplier, let maximum, let jitter):
            "exponential(\(initial) × \(multiplier), max \(maximum), ±\(Int((jitter * 100).rounded()))%)"
        }
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
