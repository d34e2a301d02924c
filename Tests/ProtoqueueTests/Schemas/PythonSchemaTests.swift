import Foundation
import TaskSchemas
import Testing

@testable import Protoqueue

/// A Python reader with no generated code follows docs/wire-format.md §6c: it finds a task's schema by the task's
/// header, decodes the task from the registered descriptors, recomputes the fingerprint, and reads the policy.
@Suite(
    "Schema registry read from Python",
    .enabled(
        if: TestEnvironment.serverTestsEnabled && PythonPeer.available,
        "needs nats-server and a Python with nats-py and protobuf")
)
struct PythonSchemaTests {
    struct Read: Decodable {
        var type: String
        var header_fingerprint: String
        var recomputed_fingerprint: String
        var task: [String: PythonJSON]
        var policy: [String: PythonJSON]
    }

    @Test func pythonReadsTaskThroughRegistry() async throws {
        try await PythonPeer.checkPackages()
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        var configuration = QueueConfiguration(consumer: .init(maxDeliveries: 4))
        configuration.retry = .explicit([.seconds(1), .seconds(30)])
        let queue = try await Queue<EmailTask>(
            connection: connection, name: uniqueName("pyschema"), configuration: configuration, logger: testLogger())
        var task = EmailTask(
            to: "ada@example.com", subject: "hello", templateValues: ["name": "Ada"], cc: ["bob@example.com"])
        task.notBeforeUnix = 1_700_000_000_000
        task.priority = .high
        _ = try await queue.enqueue(task)

        let result = try await PythonPeer.run([
            PythonPeer.interpreter, PythonPeer.script, "read-schema", url, queue.name, "1", "-",
        ])
        try #require(result.status == 0, "python failed: \(result.stderr)")
        let read = try JSONDecoder().decode(Read.self, from: Data(result.stdout.utf8))
        let fingerprint = try #require(queue.schemaFingerprint).rawValue
        #expect(read.type == EmailTask.protoMessageName)
        #expect(read.header_fingerprint == fingerprint)
        #expect(read.recomputed_fingerprint == fingerprint)
        #expect(read.task["to"] == .string("ada@example.com"))
        #expect(read.task["templateValues"] == .object(["name": .string("Ada")]))
        #expect(read.task["cc"] == .array([.string("bob@example.com")]))
        #expect(read.task["notBeforeUnix"] == .string("1700000000000"))
        #expect(read.task["priority"] == .string("PRIORITY_HIGH"))
        #expect(read.policy["attempts"] == .number(4))
        #expect(
            read.policy["retry"]
                == .object(["kind": .string("explicit"), "delaysMs": .array([.number(1000), .number(30000)])]))
        #expect(read.policy["taskType"] == .string(EmailTask.protoMessageName))
        await connection.close()
    }
}

/// Any JSON value, for comparing what Python printed.
enum PythonJSON: Decodable, Equatable {
    case string(String), number(Double), bool(Bool), null
    case array([PythonJSON]), object([String: PythonJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([PythonJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: PythonJSON].self))
        }
    }
}
