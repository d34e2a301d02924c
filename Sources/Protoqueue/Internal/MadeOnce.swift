import Synchronization

/// Values made on first use, one per key, under a lock. The key asked for last is compared before any hashing:
/// callers mostly ask for the same one again (a worker's tasks mostly come from one queue and subject).
final class MadeOnce<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var all: [Key: Value] = [:]
        var last: (key: Key, value: Value)?
    }

    private let state = Mutex(State())

    init() {}

    /// The value of `key`, made by `make` the first time.
    func value(for key: Key, make: (Key) -> Value) -> Value {
        state.withLock { state in
            if let last = state.last, last.key == key { return last.value }
            let value = state.all[key] ?? make(key)
            state.all[key] = value
            state.last = (key, value)
            return value
        }
    }
}
