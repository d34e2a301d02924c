import Synchronization

/// Core NATS publish and subscribe in memory: subscribers by id, matched with NATS wildcards (`*` one token, `>` the
/// rest).
final class MemoryCoreSubjects: Sendable {
    private struct Subscriber {
        var pattern: [Substring]
        var deliver: @Sendable ([UInt8], String) -> Void
    }

    private let subscribers = Mutex<[UInt64: Subscriber]>([:])
    private let nextID = Atomic<UInt64>(0)

    /// Delivers `body` to every subscriber whose pattern matches `subject`, on the calling thread.
    func publish(subject: String, body: [UInt8]) {
        let tokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        let matching = subscribers.withLock { list in
            list.values.filter { WireFormat.tokens(tokens, match: $0.pattern) }.map(\.deliver)
        }
        for deliver in matching { deliver(body, subject) }
    }

    /// Adds a subscriber; the returned subscription removes it.
    func subscribe(subject: String, deliver: @escaping @Sendable ([UInt8], String) -> Void) -> any CoreSubscription {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let pattern = subject.split(separator: ".", omittingEmptySubsequences: false)
        subscribers.withLock { $0[id] = Subscriber(pattern: pattern, deliver: deliver) }
        return Subscription(owner: self, id: id)
    }

    private struct Subscription: CoreSubscription {
        let owner: MemoryCoreSubjects
        let id: UInt64

        func cancel() { _ = owner.subscribers.withLock { $0.removeValue(forKey: id) } }
    }
}
