import Foundation
import NATSServerHarness
import Testing

@testable import Protoqueue

/// The Python peer (scripts/interop/python_interop.py) follows only docs/wire-format.md.
enum PythonPeer {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var interpreter: String {
        ProcessInfo.processInfo.environment["PROTOQUEUE_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "python3"
    }
    static var script: String { repositoryRoot.appendingPathComponent("scripts/interop/python_interop.py").path }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a command (bounded by `timeout`) and returns its output.
    static func run(_ arguments: [String], timeout: TimeInterval = 60) async throws -> Output {
        try await offCooperativePool { try runBlocking(arguments, timeout: timeout) }
    }

    static func runBlocking(_ arguments: [String], timeout: TimeInterval = 60) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read while it runs so a full pipe cannot block it.
        let collector = PipeCollector(out: out, err: err)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            usleep(200_000)
        }
        let (stdout, stderr) = collector.finish()
        return Output(status: process.isRunning ? -1 : process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// Collects a pipe pair on background threads.
    final class PipeCollector: @unchecked Sendable {
        private var outData = Data()
        private var errData = Data()
        private let done = NSCondition()
        private var finished = 0

        init(out: Pipe, err: Pipe) {
            let outReader = Thread { [unowned self] in
                let data = out.fileHandleForReading.readDataToEndOfFile()
                done.lock(); outData = data; finished += 1; done.broadcast(); done.unlock()
            }
            let errReader = Thread { [unowned self] in
                let data = err.fileHandleForReading.readDataToEndOfFile()
                done.lock(); errData = data; finished += 1; done.broadcast(); done.unlock()
            }
            outReader.start()
            errReader.start()
        }

        func finish() -> (String, String) {
            done.lock()
            let deadline = Date().addingTimeInterval(5)
            while finished < 2 && done.wait(until: deadline) {}
            defer { done.unlock() }
            return (String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
        }
    }

    /// Whether the interpreter has nats-py and protobuf, and protoc exists. With `CI=true` this is always true so
    /// that a missing package fails the run instead of skipping it.
    static let available: Bool = {
        if TestEnvironment.isCI { return true }
        guard let check = try? runBlocking([interpreter, script, "check"], timeout: 30), check.status == 0 else {
            return false
        }
        return FileManager.default.isExecutableFile(atPath: "/usr/bin/protoc")
    }()

    /// Generates `interop_task_pb2.py` into a temporary directory.
    static func generateBindings() async throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "protoqueue-pb2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fixtures = repositoryRoot.appendingPathComponent("Tests/ProtoqueueTests/Fixtures").path
        let result = try await run([
            "protoc", "--python_out=\(directory.path)", "-I", fixtures, "\(fixtures)/interop_task.proto",
        ])
        guard result.status == 0 else { throw HarnessError("protoc failed: \(result.stderr)") }
        // The lifecycle event schema, as a subscriber in another language compiles it (task_event_pb2.py).
        let protos = repositoryRoot.appendingPathComponent("Protos").path
        let events = try await run([
            "protoc", "--python_out=\(directory.path)", "-I", protos,
            "\(protos)/protoqueue/events/v1/task_event.proto",
        ])
        guard events.status == 0 else { throw HarnessError("protoc failed: \(events.stderr)") }
        return directory
    }

    static func checkPackages() async throws {
        let check = try await run([interpreter, script, "check"], timeout: 30)
        guard check.status == 0 else {
            throw HarnessError(
                "\(interpreter) lacks nats-py or protobuf (pip install -r scripts/python-requirements.txt): "
                    + "\(check.stderr)"
            )
        }
    }
}

@Suite(
    "Python interop (nats-py + protobuf, following docs/wire-format.md)",
    .enabled(
        if: TestEnvironment.serverTestsEnabled && PythonPeer.available,
        "needs nats-server, protoc and a Python with nats-py and protobuf")
)
struct PythonInteropTests {
    @Test func pythonProducesSwiftReadsTyped() async throws {
        try await PythonPeer.checkPackages()
        let url = try await SharedServer.url()
        let bindings = try await PythonPeer.generateBindings()
        defer { try? FileManager.default.removeItem(at: bindings) }
        let connection = try await connect(url)
        let name = uniqueName("pyin")
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        let count = 20
        let result = try await PythonPeer.run([
            PythonPeer.interpreter, PythonPeer.script, "produce", url, name, String(count), bindings.path,
        ])
        try #require(result.status == 0, "python failed: \(result.stderr)")
        struct Produced: Decodable {
            struct Item: Decodable { var id: String; var seq: UInt64; var duplicate: Bool }
            var tasks: [Item]
            var resend_duplicate: Bool
            var resend_seq: UInt64
        }
        let produced = try JSONDecoder().decode(Produced.self, from: Data(result.stdout.utf8))
        #expect(produced.tasks.count == count)
        #expect(produced.resend_duplicate)
        #expect(produced.resend_seq == produced.tasks[0].seq)
        for (index, item) in produced.tasks.enumerated() {
            let stored = try await queue.peek(sequence: item.seq)
            #expect(stored.id?.rawValue == item.id)
            #expect(
                stored.task
                    == InteropTask(
                        to: "py\(index)@example.com", subject: "from python", priority: Int32(index),
                        tags: ["py", String(index)]))
            #expect(stored.metadata == ["origin": "python"])
            #expect(stored.subject == "protoqueue.\(name).ready.default")
            #expect(stored.enqueuedAt != nil)
        }
        #expect(try await queue.stats().messages == UInt64(count))
        await connection.close()
    }

    @Test func swiftProducesPythonConsumes() async throws {
        try await PythonPeer.checkPackages()
        let url = try await SharedServer.url()
        let bindings = try await PythonPeer.generateBindings()
        defer { try? FileManager.default.removeItem(at: bindings) }
        let connection = try await connect(url)
        let name = uniqueName("pyout")
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        let tasks = (0..<15).map {
            InteropTask(to: "swift\($0)@example.com", subject: "from swift", priority: Int32(-$0), tags: ["sw"])
        }
        let items = tasks.enumerated().map {
            EnqueueItem($1, options: .init(id: "swift-\($0)", metadata: ["tenant": "acme"]))
        }
        let receipts = try await queue.enqueueBatch(items).map { try $0.get() }
        let result = try await PythonPeer.run([
            PythonPeer.interpreter, PythonPeer.script, "consume", url, name, String(tasks.count), bindings.path,
        ])
        try #require(result.status == 0, "python failed: \(result.stderr)")
        struct Consumed: Decodable {
            var subject: String
            var to: String
            var subject_field: String
            var priority: Int32
            var tags: [String]
            var headers: [String: String]
        }
        let consumed = try JSONDecoder().decode([Consumed].self, from: Data(result.stdout.utf8))
        #expect(consumed.count == tasks.count)
        for (index, record) in consumed.enumerated() where index < tasks.count {
            #expect(record.to == tasks[index].to)
            #expect(record.subject_field == "from swift")
            #expect(record.priority == tasks[index].priority)
            #expect(record.tags == ["sw"])
            #expect(record.subject == "protoqueue.\(name).ready.default")
            #expect(record.headers["Nats-Msg-Id"] == receipts[index].id.rawValue)
            #expect(record.headers["Protoqueue-Meta-tenant"] == "acme")
            #expect(record.headers["Content-Type"] == "application/x-protobuf")
        }
        // Python acknowledged every task: the work-queue stream is empty.
        #expect(try await queue.stats().messages == 0)
        await connection.close()
    }
}
