import Synchronization

/// One concurrency budget shared by the processors of a ``QueueWorker``: the slots they hold or have asked the
/// server for, over all queues, stay within ``total``, and no queue with work waiting starves another.
///
/// Each processor reports its *footprint* (tasks held plus tasks requested and not yet delivered) after every
/// change, and asks ``allowance(for:wanted:)`` before each pull request. The decision is a pure function,
/// ``decide(total:usage:waiting:for:wanted:)``, unit-tested in `SlotBudgetTests`.
final class SlotBudget: Sendable {
    private struct State {
        var usage: [UInt64: Int] = [:]
        /// Processors that asked for more than they got, with their wake-up.
        var waiting: [UInt64: @Sendable () -> Void] = [:]
    }

    /// Slots over every queue.
    let total: Int
    private let state = Mutex(State())

    init(total: Int) {
        self.total = max(1, total)
    }

    /// How many of `wanted` slots processor `id` may ask the server for now. When the answer is less than `wanted`,
    /// `wake` is called once slots are released (the processor then takes a turn and asks again).
    func allowance(for id: UInt64, wanted: Int, wake: @escaping @Sendable () -> Void) -> Int {
        state.withLock { state in
            let allowed = Self.decide(
                total: total, usage: state.usage, waiting: Set(state.waiting.keys), for: id, wanted: wanted)
            if allowed < wanted {
                state.waiting[id] = wake
            } else {
                state.waiting[id] = nil
            }
            return allowed
        }
    }

    /// Processor `id` now holds or has requested `footprint` slots. A smaller footprint wakes the processors
    /// waiting for slots.
    func report(_ id: UInt64, footprint: Int) {
        let wakes = state.withLock { state -> [@Sendable () -> Void] in
            let before = state.usage[id] ?? 0
            state.usage[id] = footprint
            guard footprint < before, !state.waiting.isEmpty else { return [] }
            return state.waiting.filter { $0.key != id }.map(\.value)
        }
        for wake in wakes { wake() }
    }

    /// Processor `id` stopped: its slots are free.
    func remove(_ id: UInt64) {
        let wakes = state.withLock { state -> [@Sendable () -> Void] in
            state.usage[id] = nil
            state.waiting[id] = nil
            return Array(state.waiting.values)
        }
        for wake in wakes { wake() }
    }

    /// The allowance: at most the free slots; and when other processors wait for slots, at most what is left of
    /// this one's fair share (the total divided among the waiting processors and this one), so that freed slots go
    /// to those below their share.
    static func decide(total: Int, usage: [UInt64: Int], waiting: Set<UInt64>, for id: UInt64, wanted: Int) -> Int {
        let free = total - usage.values.reduce(0, +)
        var allowed = max(0, min(wanted, free))
        let others = waiting.subtracting([id]).count
        if others > 0 {
            let share = max(1, total / (others + 1))
            allowed = min(allowed, max(0, share - (usage[id] ?? 0)))
        }
        return allowed
    }
}
