import Foundation
import NATSTestSupport
import ProtoqueueTesting
import SchemaTestSupport
import TaskSchemas
import Testing

@testable import Protoqueue

/// The schema registry and compatibility gate of opening a queue, on both backends (wire format §6c).
@Suite("Schema registry")
struct SchemaRegistryTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The example schemas with `edit` applied to email_task.proto, compiled by protoc.
    static func emailSchema(_ edit: (String) -> String) throws -> [UInt8] {
        let root = repository.appendingPathComponent("Protos")
        let common = "protoqueue/examples/common.proto"
        let email = "protoqueue/examples/email_task.proto"
        return try Protoc.descriptorSet([
            common: String(contentsOf: root.appendingPathComponent(common), encoding: .utf8),
            email: edit(String(contentsOf: root.appendingPathComponent(email), encoding: .utf8)),
        ])
    }

    /// Stores `descriptorSet` as a schema record of `queue`, as another deploy's process would have.
    static func register(
        _ descriptorSet: [UInt8], on queue: BackendQueue, layout: QueueLayout
    ) throws
        -> SchemaFingerprint
    {
        let set = try SchemaSet(descriptorSet: descriptorSet)
        let bytes = try set.descriptorSet(for: EmailTask.protoMessageName)
        let fingerprint = SchemaFingerprint(descriptorSet: bytes)
        let headers = ["Protoqueue-Type": EmailTask.protoMessageName, "Protoqueue-Schema": fingerprint.rawValue]
        let subject = layout.schemaRecordSubject(fingerprint)
        if let memory = queue.memory {
            _ = try memory.publish(
                subject: subject, headers: headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, body: bytes)
        } else {
            _ = try queue.raw!.publish(subject: subject, data: bytes, headers: headers)
        }
        return fingerprint
    }

    /// A queue of the hand-written `InteropTask` (no schema) on a new name: a stream without schema records.
    static func bareQueue(on backend: BackendQueue) async throws -> Queue<InteropTask> {
        try await Queue<InteropTask>(connection: backend.connection, name: uniqueName("schemas"), logger: testLogger())
    }

    @Test(
        "opening a queue registers its schema and policy, and every task names the schema", arguments: Backend.available
    )
    func registers(_ backend: Backend) async throws {
        try await withBackend(backend) { backend in
            let queue = backend.queue
            let local = try #require(try LocalSchema(EmailTask.self))
            #expect(queue.schemaFingerprint == local.fingerprint)
            let registered = try await queue.registeredSchemas()
            #expect(registered.map(\.fingerprint) == [local.fingerprint])
            #expect(registered.first?.messageName == EmailTask.protoMessageName)
            #expect(registered.first?.descriptorSet == local.descriptorSet)
            #expect(registered.first?.registeredAt != nil)

            let receipt = try await queue.enqueue(EmailTask(to: "ada@example.com"))
            let transport = backend.connection.transport
            let stored = try #require(
                try await transport.lastMessage(
                    stream: queue.layout.streamName, subject: queue.layout.readySubject, operation: "test"))
            #expect(stored.sequence == receipt.sequence)
            #expect(receipt.sequence == 1, "the work stream holds tasks only")
            #expect(stored.firstHeaderValues["Protoqueue-Schema"] == local.fingerprint.rawValue)

            let policy = try #require(
                try await transport.lastMessage(
                    stream: QueueLayout.registryStreamName, subject: queue.layout.policyRecordSubject,
                    operation: "test"))
            let record = try JSONDecoder().decode(QueuePolicyRecord.self, from: Data(policy.body))
            #expect(record.taskType == EmailTask.protoMessageName)
            #expect(record.attempts == 3)
            #expect(record.retry == .init(kind: "fixed", delaysMs: [300]))
            #expect(record.ackWaitMs == 5000)
            #expect(record.tiers == [.init(name: "default", weight: 1)])
            #expect(record.deadLetterStream == queue.layout.deadLetterStreamName)

            // Another process (connection) opening the same queue finds the schema and stores nothing more.
            let other = try await Queue<EmailTask>(
                connection: backend.connection, name: queue.name, configuration: queue.configuration,
                logger: testLogger())
            #expect(other.schemaFingerprint == local.fingerprint)
            let counts = try await transport.subjectCounts(
                stream: QueueLayout.registryStreamName, filter: "$KV.protoqueue_registry.\(queue.name).>",
                operation: "test")
            #expect(counts.values.reduce(0, +) == 2, "\(counts)")
        }
    }

    @Test(
        "a breaking schema change is refused naming the field, or registered with a warning",
        arguments: Backend.available)
    func refuses(_ backend: Backend) async throws {
        try await withBackend(backend) { backend in
            let bare = try await Self.bareQueue(on: backend)
            let older = try Self.register(
                Self.emailSchema { $0.replacingOccurrences(of: "string to = 1;", with: "int64 to = 1;") },
                on: backend, layout: bare.layout)
            do {
                _ = try await Queue<EmailTask>(connection: backend.connection, name: bare.name, logger: testLogger())
                Issue.record("a breaking change was accepted")
            } catch let error as ProtoqueueError {
                #expect(error.code == .incompatibleSchema)
                #expect(error.message.contains("breaking protoqueue.examples.EmailTask.to: number 1 changed type"))
                #expect(error.message.contains("'int64 to = 1' -> 'string to = 1'"))
                #expect(error.message.contains("\(older)"))
            }
            #expect(try await bare.registeredSchemas().map(\.fingerprint) == [older])

            var configuration = QueueConfiguration()
            configuration.schemaCheck = .warn
            let queue = try await Queue<EmailTask>(
                connection: backend.connection, name: bare.name, configuration: configuration, logger: testLogger())
            let local = try #require(queue.schemaFingerprint)
            #expect(Set(try await queue.registeredSchemas().map(\.fingerprint)) == [older, local])

            // Once the older tasks are gone, the older schema can be forgotten.
            #expect(try await queue.forgetSchema(older))
            #expect(try await !queue.forgetSchema(older))
            #expect(try await queue.registeredSchemas().map(\.fingerprint) == [local])
        }
    }

    @Test("a compatible change opens the queue and registers beside the older schema", arguments: Backend.available)
    func compatible(_ backend: Backend) async throws {
        try await withBackend(backend) { backend in
            let bare = try await Self.bareQueue(on: backend)
            // The older schema lacked a field this build has, and called field 2 `title`.
            let older = try Self.register(
                Self.emailSchema {
                    $0.replacingOccurrences(of: "  repeated string cc = 5;\n", with: "")
                        .replacingOccurrences(of: "string subject = 2;", with: "string title = 2;")
                },
                on: backend, layout: bare.layout)
            let queue = try await Queue<EmailTask>(
                connection: backend.connection, name: bare.name, logger: testLogger())
            let fingerprints = try await queue.registeredSchemas().map(\.fingerprint)
            #expect(Set(fingerprints) == [older, try #require(queue.schemaFingerprint)])
        }
    }

    @Test("a queue of another task type is refused", arguments: Backend.available)
    func otherType(_ backend: Backend) async throws {
        try await withBackend(backend) { backend in
            do {
                _ = try await Queue<ImageResizeTask>(
                    connection: backend.connection, name: backend.queue.name,
                    configuration: backend.queue.configuration, logger: testLogger())
                Issue.record("a queue of EmailTask opened as ImageResizeTask")
            } catch let error as ProtoqueueError {
                #expect(error.code == .incompatibleSchema)
                #expect(error.message.contains("the task type is now protoqueue.examples.ImageResizeTask"))
            }
        }
    }

    @Test("a type written by hand registers no schema and sends no fingerprint", arguments: Backend.available)
    func handWritten(_ backend: Backend) async throws {
        try await withBackend(backend) { backend in
            let bare = try await Self.bareQueue(on: backend)
            #expect(bare.schemaFingerprint == nil)
            #expect(try await bare.registeredSchemas().isEmpty)
            _ = try await bare.enqueue(InteropTask(to: "ada@example.com"))
            let stored = try #require(
                try await backend.connection.transport.lastMessage(
                    stream: bare.layout.streamName, subject: bare.layout.readySubject, operation: "test"))
            #expect(stored.firstHeaderValues["Protoqueue-Schema"] == nil)
        }
    }
}
