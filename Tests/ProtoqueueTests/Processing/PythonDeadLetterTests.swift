import Foundation
import NATSServerHarness
import NATSTestSupport
import Protoqueue
import TaskSchemas
import Testing

/// Runs Tests/python/read_dead_letters.py (nats-py) against the dead-letter stream.
enum PythonDeadLetterReader {
    static let script = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appending(path: "python/read_dead_letters.py")
    /// `PROTOQUEUE_PYTHON` when set, else `python3` on PATH.
    static let interpreter = ProcessInfo.processInfo.environment["PROTOQUEUE_PYTHON"] ?? "python3"
    static let isAvailable: Bool = (try? run(["-c", "import nats"]))?.status == 0

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(filePath: "/usr/bin/env")
        process.arguments = [interpreter] + arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}

@Suite(
    "Python reads dead-letter records",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"),
    .enabled(
        if: PythonDeadLetterReader.isAvailable || TestEnvironment.isCI,
        "needs python3 with nats-py (pip install -r scripts/python-requirements.txt); with CI=true it is required")
)
struct PythonDeadLetterTests {
    @Test func pythonConsumerUnderstandsTheRecords() async throws {
        #expect(
            PythonDeadLetterReader.isAvailable, "\(PythonDeadLetterReader.interpreter) cannot import nats (nats-py)")
        try await withProcessingFixture(maxDeliveries: 2) { fixture in
            let task = EmailTask(to: "py@example.com", subject: "from swift", templateID: "t-1")
            let receipt = try await fixture.queue.enqueue(
                task, options: .init(id: "py-1", metadata: ["tenant": "acme"]))
            _ = try fixture.raw.publish(
                subject: fixture.queue.layout.readySubject, data: [0xFF, 0xFF],
                headers: ["Nats-Msg-Id": "py-poison", "Protoqueue-Type": EmailTask.protoMessageName]
            )
            try await withProcessor(fixture.queue) { _, _ in
                .failure("template missing", details: ["template": "t-1"])
            } body: {
                #expect(await eventually { (try? await fixture.queue.stats().deadLetters) == 2 })
            }
            let arguments = [
                PythonDeadLetterReader.script.path, fixture.url, fixture.queue.layout.deadLetterStreamName,
            ]
            let output = try await offCooperativePool { try PythonDeadLetterReader.run(arguments) }
            try #require(output.status == 0, "read_dead_letters.py failed: \(output.stderr)")
            let records = try output.stdout.split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            #expect(records.count == 2)
            let failed = try #require(records.first { $0["task_id"] as? String == "py-1" })
            #expect(failed["reason"] as? String == "failed")
            #expect(failed["error"] as? String == "template missing")
            #expect(failed["attempts"] as? Int == 1)
            #expect(failed["original_sequence"] as? Int == Int(receipt.sequence))
            #expect(failed["original_stream"] as? String == fixture.queue.layout.streamName)
            #expect(failed["original_subject"] as? String == fixture.queue.layout.readySubject)
            #expect(failed["details"] as? [String: String] == ["template": "t-1"])
            #expect(failed["metadata"] as? [String: String] == ["tenant": "acme"])
            #expect(failed["type"] as? String == EmailTask.protoMessageName)
            #expect(
                failed["payload_hex"] as? String
                    == (try task.serializedBytes()).map { String(format: "%02x", $0) }.joined())
            let poison = try #require(records.first { $0["task_id"] as? String == "py-poison" })
            #expect(poison["reason"] as? String == "decode")
            #expect(poison["payload_hex"] as? String == "ffff")
        }
    }
}
