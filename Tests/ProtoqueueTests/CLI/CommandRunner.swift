import Foundation
import NATSServerHarness
import Testing

/// Runs the built `protoqueue` executable and compares its output with golden files under
/// `Tests/ProtoqueueTests/Fixtures/cli/`, volatile fields masked. `PROTOQUEUE_REGENERATE_GOLDEN=1` rewrites them
/// (review the diff).
enum CommandRunner {
    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The command, built beside the test bundle by `swift build --build-tests`.
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("protoqueue").path
    }

    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/cli")

    /// Runs the command with `input` on its stdin (nothing when `nil`).
    static func run(_ arguments: [String], input: String? = nil) async throws -> Output {
        try await offCooperativePool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let stdin = Pipe()
            process.standardInput = stdin
            process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("NATS_") }
            let (stdout, stderr) = (Pipe(), Pipe())
            process.standardOutput = stdout
            process.standardError = stderr
            try process.run()
            terminate(process, after: 60)
            try stdin.fileHandleForWriting.write(contentsOf: Data((input ?? "").utf8))
            try stdin.fileHandleForWriting.close()
            let out = stdout.fileHandleForReading.readDataToEndOfFile()
            let err = stderr.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Output(
                status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                stderr: String(decoding: err, as: UTF8.self))
        }
    }

    /// Ends `process` if it still runs after `seconds`, so that a command that hangs fails its test instead of
    /// holding the run.
    static func terminate(_ process: Process, after seconds: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
            if process.isRunning { process.terminate() }
        }
    }

    /// `text` with the queue's name, times, Unix-millisecond header values and fingerprints replaced by
    /// placeholders.
    static func masked(_ text: String, queue: String) -> String {
        var text = text.replacingOccurrences(of: queue, with: "<queue>")
        let rules: [(String, String)] = [
            (#"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"#, "<time>"),
            (#"\b\d{13}\b"#, "<ms>"),
            (#"\b[0-9a-f]{32}\b"#, "<fingerprint>"),
        ]
        for (pattern, replacement) in rules {
            text = text.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return text
    }

    /// Compares `text` with golden file `name`, or writes it when regenerating.
    static func expectGolden(_ name: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let file = goldenDirectory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["PROTOQUEUE_REGENERATE_GOLDEN"] == "1" {
            try? text.write(to: file, atomically: true, encoding: .utf8)
            return
        }
        let expected = (try? String(contentsOf: file, encoding: .utf8)) ?? "(missing golden file \(name))"
        #expect(text == expected, "output differs from Fixtures/cli/\(name)", sourceLocation: sourceLocation)
    }
}
