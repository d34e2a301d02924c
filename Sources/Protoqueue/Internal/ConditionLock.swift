#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex with one condition variable, for the library's own blocking threads (never used from async code
/// except for short, non-waiting critical sections).
final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        #if canImport(Glibc)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        #else
        pthread_cond_init(condition, nil)
        #endif
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the mutex held.
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Wakes every waiter. Call with or without the mutex held.
    func broadcast() { pthread_cond_broadcast(condition) }

    /// Waits for a broadcast; the mutex must be held.
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits for broadcasts while `blocked()` holds, or until `deadline` (monotonic ns) when given; the mutex must be
    /// held.
    func wait(while blocked: () -> Bool, deadline: UInt64?) {
        while blocked() {
            if let deadline {
                if !wait(untilNanoseconds: deadline) { return }
            } else {
                wait()
            }
        }
    }

    /// Waits for a broadcast or until `deadline` (a ``MonotonicClock`` reading in nanoseconds); the mutex must be held.
    /// - Returns: `false` when the deadline passed.
    @discardableResult
    func wait(untilNanoseconds deadline: UInt64) -> Bool {
        #if canImport(Glibc)
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(condition, mutex, &time) == 0
        #else
        let now = MonotonicClock.nanoseconds()
        guard deadline > now else { return false }
        var time = timespec(tv_sec: 0, tv_nsec: 0)
        let delta = deadline - now
        time.tv_sec = Int(delta / 1_000_000_000)
        time.tv_nsec = Int(delta % 1_000_000_000)
        return pthread_cond_timedwait_relative_np(condition, mutex, &time) == 0
        #endif
    }
}

/// Monotonic time in nanoseconds, matching ``ConditionLock/wait(untilNanoseconds:)``.
enum MonotonicClock {
    static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

extension Duration {
    /// The duration in whole milliseconds, rounded up, clamped to `Int64`.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let ms = Double(seconds) * 1000 + (Double(attoseconds) / 1e15).rounded(.up)
        return ms >= Double(Int64.max) ? Int64.max : Int64(ms)
    }

    /// The duration in nanoseconds, clamped to `Int64`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        return product + attoseconds / 1_000_000_000
    }
}
