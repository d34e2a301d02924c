extension Queue {
    /// Every schema registered for the queue, in fingerprint order: the ones tasks still queued may have been
    /// written with (``WireFormat/schemaHeader`` names each task's).
    /// - Throws: ``/ProtoqueueCodec/ProtoqueueError/Code/invalidSchema`` for a record without a task type, or a
    ///   connection error.
    public func registeredSchemas() async throws(ProtoqueueError) -> [RegisteredSchema] {
        try await SchemaRegistry(transport: connection.transport, layout: layout).schemas()
    }
}

extension Queue {
    /// Removes the schema registered as `fingerprint`, once no queued task uses it any more, so that opening the
    /// queue no longer compares new schemas with it. Removing this build's own schema makes the next open register
    /// it again.
    /// - Returns: `false` when no such schema was registered.
    /// - Throws: A connection error.
    @discardableResult
    public func forgetSchema(_ fingerprint: SchemaFingerprint) async throws(ProtoqueueError) -> Bool {
        let registry = SchemaRegistry(transport: connection.transport, layout: layout)
        guard try await registry.schema(fingerprint) != nil else { return false }
        try await connection.transport.purge(
            stream: QueueLayout.registryStreamName, subject: layout.schemaRecordSubject(fingerprint),
            operation: "forget schema \(fingerprint)")
        connection.registrations.remove(RegistrationMemory.schemaKey(stream: layout.streamName, fingerprint))
        return true
    }
}
