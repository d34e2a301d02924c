import Synchronization

/// A consumer's state, and its deletion.
extension MemoryBroker {
    func consumerState(stream: String, consumer: String) async throws(ProtoqueueError) -> ConsumerState {
        try checkOpen()
        let found = state.withLock { state -> ConsumerState? in
            state.store.consumerState(stream: stream, consumer: consumer)
        }
        guard var found else {
            throw ProtoqueueError(.streamNotFound, "read consumer \"\(consumer)\": consumer not found")
        }
        found.waitingPulls = Int64(hubs.withLock { $0 }?.waitingPulls(stream: stream) ?? 0)
        return found
    }

    @discardableResult
    func deleteConsumer(stream: String, consumer: String, operation: String) async throws(ProtoqueueError) -> Bool {
        try checkOpen()
        return state.withLock { $0.store.streams[stream]?.consumers.removeValue(forKey: consumer) != nil }
    }
}
