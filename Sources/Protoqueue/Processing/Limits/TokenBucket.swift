import Synchronization

/// A token bucket as a value: ``take(now:)`` reserves the next token and says how long to wait for it. Tokens may go
/// below zero: each reservation waits behind the earlier ones, in order. `TokenBucketTests` covers it.
struct TokenBucket: Sendable, Equatable {
    /// Nanoseconds between two tokens.
    let spacing: Double
    /// The most tokens held.
    let capacity: Double
    /// Tokens now (negative: reserved ahead).
    private(set) var tokens: Double
    /// When ``tokens`` was last brought up to date (monotonic ns).
    private(set) var updated: UInt64

    /// A full bucket for `limit`, at `now`.
    init(_ limit: RateLimit, now: UInt64) {
        spacing = 1e9 / limit.perSecond
        capacity = Double(limit.burst)
        tokens = capacity
        updated = now
    }

    /// Takes a token at `now` (monotonic ns).
    /// - Returns: Nanoseconds to wait until it is due; 0 when it is free now.
    mutating func take(now: UInt64) -> UInt64 {
        if now > updated {
            tokens = min(capacity, tokens + Double(now - updated) / spacing)
            updated = now
        }
        tokens -= 1
        return tokens >= 0 ? 0 : UInt64((-tokens * spacing).rounded(.up))
    }
}

/// One worker's ``RateLimit`` for one queue, shared by its handler tasks.
final class RateLimiter: Sendable {
    private let bucket: Mutex<TokenBucket>

    init(_ limit: RateLimit) {
        bucket = Mutex(TokenBucket(limit, now: MonotonicClock.nanoseconds()))
    }

    /// Waits for a token.
    /// - Returns: `false` when the calling task was cancelled while waiting.
    func acquire() async -> Bool {
        let wait = bucket.withLock { $0.take(now: MonotonicClock.nanoseconds()) }
        guard wait > 0 else { return true }
        do {
            try await Task.sleep(for: .nanoseconds(Int64(clamping: wait)))
            return true
        } catch {
            return false
        }
    }
}
