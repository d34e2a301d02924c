/// A processor's concurrency slots: a task holds one from the moment it is fetched until its settlement is queued.
///
/// The fetch thread asks for at most the free slots; deliveries that arrive with none free (for a pull request
/// it had already given up) are parked and get the next slots released. Every method may block briefly on the
/// pool's lock; ``waitForRoom(_:)`` and ``pause(milliseconds:)`` block the calling thread, so only the fetch
/// thread calls them.
final class SlotPool: @unchecked Sendable {
    private let lock = ConditionLock()
    private var free: Int
    private var parked: [Delivery] = []
    private var stopping = false
    /// The fetch thread pulls for at least this many tasks (half the slots), or for fewer only when no pull
    /// request is open and a short wait brought no more free slots.
    let lowWater: Int

    init(concurrency: Int) {
        free = concurrency
        lowWater = max(1, concurrency / 2)
    }

    /// Whether ``stop()`` was called.
    var isStopping: Bool { lock.withLock { stopping } }

    /// Marks the pool stopping and wakes the fetch thread.
    func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
    }

    /// One turn of the fetch thread, under one hold of the lock: `prepare` gets the stopping flag and says whether
    /// no pull request is open. If none is, this waits for a free slot (at most `expiry` ns, so the caller
    /// notices a closing connection) and, with fewer than ``lowWater`` free, up to 2 ms more for half of them, so
    /// a busy worker sends one pull for many tasks instead of one per finished task.
    /// - Returns: Whether the pool is stopping, and the free slots.
    func waitForRoom(expiry: UInt64, _ prepare: (_ stopping: Bool) -> Bool) -> (stopping: Bool, free: Int) {
        lock.lock()
        defer { lock.unlock() }
        let idle = prepare(stopping)
        if idle && !stopping {
            if free == 0 {
                let deadline = MonotonicClock.nanoseconds() + expiry
                while free == 0 && !stopping {
                    if !lock.wait(untilNanoseconds: deadline) { break }
                }
            }
            if free > 0 && free < lowWater {
                let deadline = MonotonicClock.nanoseconds() + 2_000_000
                while free < lowWater && !stopping {
                    if !lock.wait(untilNanoseconds: deadline) { break }
                }
            }
        }
        return (stopping, free)
    }

    /// Gives the deliveries of `run` slots while there are free ones and parks the rest.
    /// - Returns: The deliveries that got a slot, in order.
    func admit(_ run: [Delivery]) -> ArraySlice<Delivery> {
        let admitted = lock.withLock { () -> Int in
            let admitted = min(run.count, max(0, free))
            free -= admitted
            if admitted < run.count { parked.append(contentsOf: run[admitted...]) }
            return admitted
        }
        return run[..<admitted]
    }

    /// Returns `count` slots, to parked deliveries first; wakes the fetch thread when it may be waiting for them
    /// (none were free, or half of them are free now).
    /// - Returns: The parked deliveries that got a slot.
    func release(_ count: Int) -> [Delivery] {
        lock.withLock { () -> [Delivery] in
            let before = free
            free += count
            var unparked: [Delivery] = []
            if !parked.isEmpty {
                let admitted = min(parked.count, free)
                unparked = Array(parked.prefix(admitted))
                parked.removeFirst(admitted)
                free -= admitted
            }
            if before == 0 || (before < lowWater && free >= lowWater) { lock.broadcast() }
            return unparked
        }
    }

    /// Removes and returns the parked deliveries.
    func drainParked() -> [Delivery] {
        lock.withLock {
            defer { parked.removeAll() }
            return parked
        }
    }

    /// Sleeps for `milliseconds` unless the pool is or becomes stopping.
    func pause(milliseconds: Int64) {
        let deadline = MonotonicClock.nanoseconds() + UInt64(max(0, milliseconds)) * 1_000_000
        lock.lock()
        while !stopping {
            if !lock.wait(untilNanoseconds: deadline) { break }
        }
        lock.unlock()
    }
}
