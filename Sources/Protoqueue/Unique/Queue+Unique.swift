extension Queue {
    /// Stores `prepared` as a unique task (``UniqueEnqueue/send(_:_:maxPayload:)``).
    func sendUnique(
        _ prepared: PreparedMessage, _ unique: Uniqueness, maxPayload: Int
    ) async throws(ProtoqueueError) -> EnqueueReceipt {
        try await UniqueEnqueue(transport: connection.transport, layout: layout, streamLimit: streamMaxMessageSize)
            .send(prepared, unique, maxPayload: maxPayload)
    }
}

extension Validation {
    /// A uniqueness key: 1–256 bytes of UTF-8 that a header can carry (no CR, LF or NUL, no blank at either end).
    static func uniqueKey(_ unique: Uniqueness) throws(ProtoqueueError) {
        try metadataValue(unique.key, key: "unique", kind: "uniqueness key")
        guard unique.key.utf8.count <= 256 else {
            throw ProtoqueueError(
                .invalidHeader, "uniqueness key \"\(unique.key.prefix(40))…\" is longer than 256 bytes")
        }
        if case .duration(let milliseconds) = unique.scope.kind, milliseconds < 1 {
            throw ProtoqueueError(.invalidConfiguration, "a uniqueness scope's duration must be at least 1 ms")
        }
    }

    /// Refuses a unique task in a batch: its key is taken by a conditional write per task, which a batch does not
    /// make.
    static func notUnique(_ options: EnqueueOptions) throws(ProtoqueueError) {
        guard options.unique == nil else {
            throw ProtoqueueError(
                .invalidConfiguration,
                "a unique task (uniqueness key \"\(options.unique!.key)\") is enqueued with enqueue(_:options:), not "
                    + "in a batch")
        }
    }
}
