/// How many handlers one worker starts per second for a queue (``ProcessOptions/rateLimit``): a token bucket.
///
/// ## Overview
/// ```swift
/// try await queue.process(options: .init(concurrency: 8, rateLimit: .perSecond(20))) { task, context in … }
/// ```
/// A handler starts when a token is free; tokens come back at the rate, and up to `burst` of them pile up while the
/// worker is idle. A task waiting for a token has been fetched: it counts as in flight, and gets heartbeats.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// Handler starts per second.
    public let perSecond: Double
    /// Tokens that pile up while idle: starts allowed at once after a pause.
    public let burst: Int

    /// `count` handler starts per second.
    /// - Parameters:
    ///   - count: Starts per second; positive.
    ///   - burst: Starts allowed at once after a pause (default 1).
    public static func perSecond(_ count: Double, burst: Int = 1) -> RateLimit {
        RateLimit(perSecond: count, burst: burst)
    }

    /// `count` handler starts per minute.
    /// - Parameters:
    ///   - count: Starts per minute; positive.
    ///   - burst: Starts allowed at once after a pause (default 1).
    public static func perMinute(_ count: Double, burst: Int = 1) -> RateLimit {
        RateLimit(perSecond: count / 60, burst: burst)
    }

    /// For example `20.0/s, burst 1`.
    public var description: String { "\(perSecond)/s, burst \(burst)" }

    func validated() throws(ProtoqueueError) -> RateLimit {
        guard perSecond.isFinite, perSecond > 0, perSecond <= 1_000_000 else {
            throw ProtoqueueError(
                .invalidConfiguration,
                "rateLimit must allow more than 0 and at most 1,000,000 starts per second, "
                    + "not \(perSecond)")
        }
        guard burst >= 1, burst <= 1_000_000 else {
            throw ProtoqueueError(.invalidConfiguration, "rateLimit burst must be 1 to 1,000,000, not \(burst)")
        }
        return self
    }
}
