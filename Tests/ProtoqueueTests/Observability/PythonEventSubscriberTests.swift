import Foundation
import Protoqueue
import Testing

/// A Python subscriber (nats-py, `protoc --python_out` code of Protos/protoqueue/events/v1/task_event.proto) reads
/// the lifecycle events of a Swift queue from their core NATS subjects.
@Suite(
    "Python event subscriber (nats-py + protobuf, following docs/wire-format.md)",
    .enabled(
        if: TestEnvironment.serverTestsEnabled && PythonPeer.available,
        "needs nats-server, protoc and a Python with nats-py and protobuf")
)
struct PythonEventSubscriberTests {
    struct Received: Decodable, Equatable {
        var subject: String
        var kind: String
        var queue: String
        var task_type: String
        var task_id: String
        var attempt: UInt32
        var reason: String
    }

    @Test func pythonDecodesEveryEventOfASwiftQueue() async throws {
        try await PythonPeer.checkPackages()
        let url = try await SharedServer.url()
        let bindings = try await PythonPeer.generateBindings()
        defer { try? FileManager.default.removeItem(at: bindings) }
        let ready = bindings.appendingPathComponent("subscribed")
        let connection = try await connect(url)
        let name = uniqueName("pyevents")
        var configuration = QueueConfiguration()
        configuration.events = .enabled()
        let queue = try await Queue<InteropTask>(
            connection: connection, name: name, configuration: configuration, logger: testLogger())
        let subscriber = Task {
            try await PythonPeer.run([
                PythonPeer.interpreter, PythonPeer.script, "events", url, name, "6", bindings.path, ready.path,
            ])
        }
        #expect(await eventually(timeout: .seconds(20)) { FileManager.default.fileExists(atPath: ready.path) })
        _ = try await queue.enqueue(InteropTask(to: "ok"), options: .init(id: "ok"))
        _ = try await queue.enqueue(InteropTask(to: "bad"), options: .init(id: "bad"))
        try await queue.process(options: ProcessOptions(fetchTimeout: .milliseconds(200), stopWhenIdle: true)) {
            task, _ in
            task.to == "ok" ? .success : .failure("unknown recipient", details: [:])
        }
        let result = try await subscriber.value
        try #require(result.status == 0, "python failed: \(result.stderr)")
        let received = try JSONDecoder().decode([Received].self, from: Data(result.stdout.utf8))
        func event(_ kind: String, _ id: String, attempt: UInt32, reason: String = "") -> Received {
            Received(
                subject: "protoqueue.\(name).events.\(kind.dropFirst(5).lowercased())", kind: kind, queue: name,
                task_type: InteropTask.protoMessageName, task_id: id, attempt: attempt, reason: reason)
        }
        #expect(
            received.filter { $0.task_id == "ok" } == [
                event("KIND_ENQUEUED", "ok", attempt: 0), event("KIND_STARTED", "ok", attempt: 1),
                event("KIND_SUCCEEDED", "ok", attempt: 1),
            ])
        #expect(
            received.filter { $0.task_id == "bad" } == [
                event("KIND_ENQUEUED", "bad", attempt: 0), event("KIND_STARTED", "bad", attempt: 1),
                event("KIND_DEAD_LETTERED", "bad", attempt: 1, reason: "failed"),
            ])
        await connection.close()
    }
}
