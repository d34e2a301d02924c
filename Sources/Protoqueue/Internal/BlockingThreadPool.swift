import Foundation

/// A small pool of threads the library owns, for blocking nats.c calls (sync publish, flush, stream and consumer
/// management, later fetch). Work never runs on the Swift cooperative pool or on Dispatch's global queues.
final class BlockingThreadPool: @unchecked Sendable {
    private let lock = ConditionLock()
    private var jobs: [@Sendable () -> Void] = []
    private var jobHead = 0
    private var stopping = false
    private var running = 0
    private let label: String

    /// Starts `threadCount` threads named `<label>-<n>`.
    init(label: String, threadCount: Int) {
        self.label = label
        for index in 0..<max(1, threadCount) {
            let thread = Thread { [self] in self.workerLoop() }
            thread.name = "\(label)-\(index)"
            thread.stackSize = 1 << 20
            lock.withLock { running += 1 }
            thread.start()
        }
    }

    private func workerLoop() {
        while true {
            lock.lock()
            while jobHead == jobs.count && !stopping { lock.wait() }
            if jobHead == jobs.count && stopping {
                running -= 1
                lock.broadcast()
                lock.unlock()
                return
            }
            let job = jobs[jobHead]
            jobHead += 1
            if jobHead > 64 && jobHead * 2 > jobs.count {
                jobs.removeFirst(jobHead)
                jobHead = 0
            }
            lock.unlock()
            job()
        }
    }

    /// Queues `job`; returns `false` when the pool is shut down.
    private func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if stopping { return false }
        jobs.append(job)
        lock.broadcast()
        return true
    }

    /// Runs `body` on one of the pool's threads and returns its result.
    /// Cancellation does not interrupt a call already running; bound it with a nats.c timeout instead.
    func run<R: Sendable>(
        _ body: @escaping @Sendable () throws(ProtoqueueError) -> R
    ) async throws(ProtoqueueError) -> R {
        let result: Result<R, ProtoqueueError> = await withCheckedContinuation { continuation in
            let accepted = submit {
                do throws(ProtoqueueError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !accepted {
                continuation.resume(
                    returning: .failure(ProtoqueueError(.connectionClosed, "the connection's thread pool is shut down"))
                )
            }
        }
        return try result.get()
    }

    /// Runs `body` on a new thread of its own (for long jobs such as a batch publish that would otherwise hold
    /// a pool thread for minutes).
    static func runDedicated<R: Sendable>(
        name: String,
        _ body: @escaping @Sendable () throws(ProtoqueueError) -> R
    ) async throws(ProtoqueueError) -> R {
        let result: Result<R, ProtoqueueError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                do throws(ProtoqueueError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.name = name
            thread.stackSize = 1 << 20
            thread.start()
        }
        return try result.get()
    }

    /// Lets queued jobs finish, then stops the threads without waiting for them (safe from async code).
    func shutdownWithoutWaiting() {
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
    }

    /// Lets queued jobs finish, then stops the threads (waits at most `timeout`). Call from a library thread.
    func shutdown(timeout: Duration = .seconds(10)) {
        let deadline = MonotonicClock.nanoseconds() + UInt64(max(0, timeout.nanoseconds))
        lock.lock()
        stopping = true
        lock.broadcast()
        while running > 0 {
            if !lock.wait(untilNanoseconds: deadline) { break }
        }
        lock.unlock()
    }
}
