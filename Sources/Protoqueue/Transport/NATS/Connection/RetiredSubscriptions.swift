import CNats
import Synchronization

/// Subscriptions unsubscribed but not yet freed.
///
/// nats.c 3.4.1's reader thread looks a subscription up and then locks it without holding a reference, so freeing
/// one while a message for it is arriving (a late acknowledgement of a batch, a delivery for a pull request that
/// outlived its worker) can use freed memory (nats.c #637, fixed in 3.6.1). A retired subscription is freed a
/// second later, far longer than that window, on the next retirement, or by ``freeAll()`` at close.
final class RetiredSubscriptions: Sendable {
    private struct Retired: @unchecked Sendable {
        var pointer: OpaquePointer  // natsSubscription*
        var at: UInt64
    }

    /// How long a retired subscription stays allocated.
    private static let delay: UInt64 = 1_000_000_000
    private let list = Mutex<[Retired]>([])

    /// Unsubscribes `subscription` now; frees the ones retired more than a second ago.
    func retire(_ subscription: OpaquePointer) {
        natsSubscription_Unsubscribe(subscription)
        let now = MonotonicClock.nanoseconds()
        let due = list.withLock { list -> [Retired] in
            // Another thread may have appended with a later clock reading than `now`: compare without subtracting.
            let due = list.filter { now >= $0.at + Self.delay }
            list.removeAll { now >= $0.at + Self.delay }
            list.append(Retired(pointer: subscription, at: now))
            return due
        }
        for old in due { natsSubscription_Destroy(old.pointer) }
    }

    /// Frees every retired subscription; only once both nats.c connections are closed (no reader thread is left).
    func freeAll() {
        let all = list.withLock { list -> [Retired] in
            defer { list.removeAll() }
            return list
        }
        for subscription in all { natsSubscription_Destroy(subscription.pointer) }
    }
}
