import Synchronization

/// Keeps the first error reported from any thread; later ones are dropped.
final class FirstError: Sendable {
    private let error = Mutex<ProtoqueueError?>(nil)

    /// Records `error` unless one was recorded before.
    /// - Returns: Whether it was the first.
    @discardableResult
    func record(_ error: ProtoqueueError) -> Bool {
        self.error.withLock { stored in
            if stored != nil { return false }
            stored = error
            return true
        }
    }

    /// The first error, if any.
    var value: ProtoqueueError? { error.withLock { $0 } }
}
