public import Foundation
public import ProtoqueueSchema

extension WireFormat {
    /// On every task of a generated type, and on its schema record: the schema fingerprint (32 hex digits).
    public static let schemaHeader = "Protoqueue-Schema"
}

/// A task type's schema as registered for a queue: key `<stream>.schemas.<fingerprint>` of the key-value bucket
/// `protoqueue_registry`, its value a serialized `FileDescriptorSet`.
public struct RegisteredSchema: Sendable, Hashable {
    /// The schema's fingerprint.
    public var fingerprint: SchemaFingerprint
    /// The full protobuf name of the task type.
    public var messageName: String
    /// The serialized `FileDescriptorSet` of the task type's file and its imports.
    public var descriptorSet: [UInt8]
    /// When it was registered (the registering process's clock), if the record says.
    public var registeredAt: Date?
    /// Its stream sequence.
    public var sequence: UInt64
}

/// Reads and writes a queue's schema records in the registry bucket (wire format §6c).
struct SchemaRegistry: Sendable {
    let transport: any QueueTransport
    let layout: QueueLayout

    /// The fingerprints of every registered schema, sorted.
    func fingerprints() async throws(ProtoqueueError) -> [SchemaFingerprint] {
        try await transport.lastTokens(
            stream: QueueLayout.registryStreamName, filter: layout.schemaRecordFilter, operation: "list schemas"
        ).compactMap(SchemaFingerprint.init).sorted()
    }

    /// The schema registered as `fingerprint`, or `nil` when there is none.
    /// - Throws: ``/ProtoqueueCodec/ProtoqueueError/Code/invalidSchema`` for a record that does not read as one.
    func schema(_ fingerprint: SchemaFingerprint) async throws(ProtoqueueError) -> RegisteredSchema? {
        guard
            let stored = try await transport.lastMessage(
                stream: QueueLayout.registryStreamName, subject: layout.schemaRecordSubject(fingerprint),
                operation: "read schema \(fingerprint)")
        else { return nil }
        let headers = stored.firstHeaderValues
        guard let name = headers[WireFormat.Header.messageType], !name.isEmpty else {
            throw ProtoqueueError(
                .invalidSchema,
                "schema record \(fingerprint) of stream \(layout.streamName) has no "
                    + "\(WireFormat.Header.messageType) header")
        }
        let registeredAt = headers[WireFormat.Header.enqueuedAt].flatMap(Int64.init).map {
            Date(timeIntervalSince1970: Double($0) / 1000)
        }
        return RegisteredSchema(
            fingerprint: fingerprint, messageName: name, descriptorSet: stored.body, registeredAt: registeredAt,
            sequence: stored.sequence)
    }

    /// Every registered schema, by fingerprint order.
    func schemas() async throws(ProtoqueueError) -> [RegisteredSchema] {
        var schemas: [RegisteredSchema] = []
        for fingerprint in try await fingerprints() {
            if let schema = try await schema(fingerprint) { schemas.append(schema) }
        }
        return schemas
    }

    /// Stores `schema`'s record; the bucket keeps one message per key, so registering a fingerprint again replaces
    /// an equal record (inside the duplicate window the server does not even store it: `Nats-Msg-Id`).
    func register(_ schema: LocalSchema) async throws(ProtoqueueError) {
        let headers: [(String, String)] = [
            (WireFormat.Header.messageID, "schema:\(layout.streamName):\(schema.fingerprint)"),
            (WireFormat.Header.messageType, schema.messageName),
            (WireFormat.schemaHeader, schema.fingerprint.rawValue),
            (WireFormat.Header.enqueuedAt, String(WallClock.unixMilliseconds())),
            (WireFormat.Header.version, WireFormat.version),
            (WireFormat.Header.contentType, SchemaRegistry.contentType),
        ]
        let prepared = PreparedMessage(
            subject: layout.schemaRecordSubject(schema.fingerprint), headers: headers, body: schema.descriptorSet,
            id: TaskID("schema:\(layout.streamName):\(schema.fingerprint)"))
        _ = try await transport.publish(prepared, maxAttempts: 3)
    }

    /// The `Content-Type` of a schema record.
    static let contentType = "application/x-protobuf; proto=google.protobuf.FileDescriptorSet"
}

/// The schema this build has for a task type: its descriptors and fingerprint.
struct LocalSchema: Sendable {
    let messageName: String
    let descriptorSet: [UInt8]
    let fingerprint: SchemaFingerprint
    let schemas: SchemaSet

    /// The schema of `Message`, or `nil` for a type written by hand (no descriptors).
    /// - Throws: ``/ProtoqueueCodec/ProtoqueueError/Code/invalidSchema`` when the generated descriptors do not
    ///   declare the type.
    init?<Message: ProtoqueueMessage>(_ type: Message.Type) throws(ProtoqueueError) {
        let embedded = Message.protoFileDescriptorSet
        guard !embedded.isEmpty else { return nil }
        let schemas = try SchemaSet(descriptorSet: embedded)
        self.messageName = Message.protoMessageName
        self.descriptorSet = try schemas.descriptorSet(for: Message.protoMessageName)
        self.fingerprint = SchemaFingerprint(descriptorSet: descriptorSet)
        self.schemas = schemas
    }
}
