import Logging
import ProtoqueueSchema

/// What opening a queue does with its task type's schema (wire format §6c): unless this process registered it
/// already, compare it with every schema registered for the queue, refuse (or warn about) breaking changes, then
/// register it; and publish the queue's processing policy when it changed. Both live in the key-value bucket
/// `protoqueue_registry` (stream `KV_protoqueue_registry`), outside the queue's own stream.
struct SchemaGate {
    let registry: SchemaRegistry
    let queue: String
    let logger: Logger

    /// Each registered schema (other than `local`'s own) from which `local` breaks something, with those changes.
    /// A record that does not read as a descriptor set is logged and skipped: it cannot describe queued tasks.
    func conflicts(
        of local: LocalSchema, with registered: [RegisteredSchema]
    ) -> [(schema: RegisteredSchema, changes: [SchemaChange])] {
        var conflicts: [(schema: RegisteredSchema, changes: [SchemaChange])] = []
        for schema in registered where schema.fingerprint != local.fingerprint {
            do throws(ProtoqueueError) {
                let old = try SchemaSet(descriptorSet: schema.descriptorSet)
                let changes = try SchemaCompatibility.changes(
                    from: old, message: schema.messageName, to: local.schemas, message: local.messageName
                ).filter(\.isBreaking)
                if !changes.isEmpty { conflicts.append((schema, changes)) }
            } catch {
                logger.warning(
                    "schema record skipped: it does not read as a descriptor set",
                    metadata: ["protoqueue.schema": "\(schema.fingerprint)", "protoqueue.error": "\(error)"])
            }
        }
        return conflicts
    }

    /// The error naming every breaking change of every conflict.
    func incompatibility(
        of local: LocalSchema, _ conflicts: [(schema: RegisteredSchema, changes: [SchemaChange])]
    ) -> ProtoqueueError {
        var text =
            "the schema of \(local.messageName) in this build (\(local.fingerprint)) breaks tasks of queue "
            + "\(queue) written with "
        text += conflicts.map { conflict in
            "schema \(conflict.schema.fingerprint) (\(conflict.schema.messageName)): "
                + conflict.changes.map(\.description).joined(separator: "; ")
        }.joined(separator: "; and with ")
        text +=
            ". Keep field numbers and types, reserve removed numbers, or open the queue with "
            + "QueueConfiguration.schemaCheck = .warn (docs/schemas.md)"
        return ProtoqueueError(.incompatibleSchema, text)
    }

    /// What opening a queue does: makes sure the registry's bucket exists (creating it when `create` is set), checks
    /// and registers `schema` (a type written by hand has none), and publishes `policy`. A bucket missing while
    /// `create` is not set, or one this user may not use, is logged and skipped: the queue opens unregistered.
    /// - Throws: ``/ProtoqueueCodec/ProtoqueueError/Code/incompatibleSchema`` under ``SchemaCheck/refuse``, or a
    ///   transport error other than a permission refusal.
    func open(
        _ schema: LocalSchema?, policy: QueuePolicyRecord, configuration: QueueConfiguration, create: Bool,
        memory: RegistrationMemory
    ) async throws(ProtoqueueError) {
        if !memory.contains(QueueLayout.registryStreamName) {
            do throws(ProtoqueueError) {
                guard try await registry.transport.ensureRegistry(replicas: configuration.replicas, create: create)
                else {
                    logger.warning(
                        "schema not checked or registered: the registry stream is missing",
                        metadata: ["protoqueue.stream": "\(QueueLayout.registryStreamName)"])
                    return
                }
                memory.insert(QueueLayout.registryStreamName)
            } catch  where error.code == .permissionDenied {
                logger.warning(
                    "schema not checked or registered: no permission", metadata: ["protoqueue.error": "\(error)"])
                return
            }
        }
        if let schema { try await register(schema, check: configuration.schemaCheck, memory: memory) }
        try await publish(policy, memory: memory)
    }

    /// Checks and registers `local`, unless `memory` holds it already.
    func register(_ local: LocalSchema, check: SchemaCheck, memory: RegistrationMemory) async throws(ProtoqueueError) {
        let key = RegistrationMemory.schemaKey(stream: registry.layout.streamName, local.fingerprint)
        guard !memory.contains(key) else { return }
        do throws(ProtoqueueError) {
            let fingerprints = try await registry.fingerprints()
            if !fingerprints.contains(local.fingerprint) {
                var registered: [RegisteredSchema] = []
                for fingerprint in fingerprints {
                    if let schema = try await registry.schema(fingerprint) { registered.append(schema) }
                }
                let conflicts = conflicts(of: local, with: registered)
                if !conflicts.isEmpty {
                    let error = incompatibility(of: local, conflicts)
                    guard !check.refuses else { throw error }
                    logger.warning(
                        "schema registered despite breaking changes", metadata: ["protoqueue.error": "\(error)"])
                }
                try await registry.register(local)
                logger.debug("schema registered", metadata: ["protoqueue.schema": "\(local.fingerprint)"])
            }
            memory.insert(key)
        } catch  where error.code == .permissionDenied {
            logger.warning(
                "schema not checked or registered: no permission",
                metadata: ["protoqueue.schema": "\(local.fingerprint)", "protoqueue.error": "\(error)"])
        }
    }

    /// Publishes `policy` under the queue's `policy` key unless it is the record there already.
    func publish(_ policy: QueuePolicyRecord, memory: RegistrationMemory) async throws(ProtoqueueError) {
        let body = policy.encoded()
        let layout = registry.layout
        let key = "\(layout.streamName) policy \(String(decoding: body, as: UTF8.self))"
        guard !memory.contains(key) else { return }
        do throws(ProtoqueueError) {
            let last = try await registry.transport.lastMessage(
                stream: QueueLayout.registryStreamName, subject: layout.policyRecordSubject,
                operation: "read the queue policy")
            if last?.body != body {
                let prepared = PreparedMessage(
                    subject: layout.policyRecordSubject,
                    headers: [
                        (WireFormat.Header.messageType, policy.taskType),
                        (WireFormat.Header.enqueuedAt, String(WallClock.unixMilliseconds())),
                        (WireFormat.Header.version, WireFormat.version),
                        (WireFormat.Header.contentType, "application/json"),
                    ],
                    body: body, id: TaskID("policy"))
                let receipt = try await registry.transport.publish(prepared, maxAttempts: 3)
                logger.debug("queue policy published", metadata: ["protoqueue.sequence": "\(receipt.sequence)"])
            }
            memory.insert(key)
        } catch  where error.code == .permissionDenied {
            logger.warning("queue policy not published: no permission", metadata: ["protoqueue.error": "\(error)"])
        }
    }
}
