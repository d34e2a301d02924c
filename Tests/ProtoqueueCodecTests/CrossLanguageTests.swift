import Foundation
import KitchenSink
import Testing

/// Runs Tests/KitchenSink/python/cross_language.py with Google's protobuf runtime.
enum PythonPeer {
    static let testsDirectory = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let script = testsDirectory.appending(path: "KitchenSink/python/cross_language.py")
    static let protoRoot = testsDirectory.appending(path: "KitchenSink/CKitchenSink")
    /// `PROTOQUEUE_PYTHON` when set (scripts/test.sh points it at its venv), else `python3` on PATH.
    static let interpreter = ProcessInfo.processInfo.environment["PROTOQUEUE_PYTHON"] ?? "python3"
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Whether the interpreter runs and imports `google.protobuf`.
    static let isAvailable: Bool = (try? run(["-c", "import google.protobuf"]))?.status == 0

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], input: String = "") throws -> Output {
        // A peer that exits early must fail the test, not kill the test process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        process.executableURL = URL(filePath: "/usr/bin/env")
        process.arguments = [interpreter] + arguments
        let stdin = Pipe()
        let stdout = Pipe()
        // stderr is read after stdout ends: the peer writes at most a short traceback there.
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let writer = Thread {
            try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self), stderr: errors)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func bytes(hex: Substring) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            let value = c <= UInt8(ascii: "9") ? c - UInt8(ascii: "0") : c - UInt8(ascii: "a") + 10
            if let h = high {
                result.append(h << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return result
    }
}

@Suite(
    "Cross-language vectors with Google's Python protobuf",
    .enabled(
        if: PythonPeer.isAvailable || PythonPeer.isCI,
        """
        needs python3 with the protobuf package (pip install -r scripts/python-requirements.txt); with CI=true it is \
        required
        """
    )
)
struct CrossLanguageTests {
    /// The vectors Python encoded, by name.
    func pythonVectors() throws -> [String: [UInt8]] {
        #expect(PythonPeer.isAvailable, "\(PythonPeer.interpreter) cannot import google.protobuf")
        let output = try PythonPeer.run([PythonPeer.script.path, PythonPeer.protoRoot.path, "encode"])
        #expect(output.status == 0, "cross_language.py encode failed: \(output.stderr)")
        var vectors: [String: [UInt8]] = [:]
        for line in output.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            vectors[String(parts[0])] = PythonPeer.bytes(hex: parts.count > 1 ? parts[1] : "")
        }
        return vectors
    }

    @Test func swiftDecodesWhatPythonEncoded() throws {
        let vectors = try pythonVectors()
        #expect(vectors.count == 7)
        let full = try Everything(serializedBytes: #require(vectors["everything_full"]))
        #expect(full == Fixtures.everythingFull())
        #expect(full.fString == "héllo wörld ✓ 日本語 🚀")
        #expect(full.mBool == [true: "yes", false: "no"])
        #expect(full.keywords?.return == "returned")

        let extremes = try Everything(serializedBytes: #require(vectors["everything_extremes"]))
        let expected = Fixtures.everythingExtremes()
        #expect(try extremes.serializedBytes() == expected.serializedBytes())
        #expect(extremes.fInt32 == .min && extremes.fInt64 == .max && extremes.fUint64 == .max)
        #expect(extremes.fSint32 == .min && extremes.fSint64 == .min && extremes.fSfixed64 == .min)
        #expect(extremes.fFloat == .infinity && extremes.fDouble == -.infinity)
        #expect(extremes.rDouble[0].isNaN && extremes.rDouble[3].sign == .minus)
        #expect(extremes.oDouble?.isNaN == true)
        #expect(extremes.fBytes.count == 300_000 && extremes.fBytes == expected.fBytes)
        #expect(extremes.mood == .unrecognized(7))
        #expect(extremes.rMood == [.unrecognized(99), .unrecognized(-5)])

        #expect(try Everything(serializedBytes: #require(vectors["everything_empty"])) == Everything())
        #expect(try Legacy(serializedBytes: #require(vectors["legacy_full"])) == Fixtures.legacyFull())
        let minimal = try Legacy(serializedBytes: #require(vectors["legacy_minimal"]))
        #expect(minimal == Fixtures.legacyMinimal())
        #expect(minimal.countWithDefaultOrDefault == 42 && minimal.labelWithDefault == nil)
        #expect(try Node(serializedBytes: #require(vectors["node_chain"])) == Fixtures.nodeChain())
        #expect(try RecordV2(serializedBytes: #require(vectors["record_v2"])) == Fixtures.recordV2())
    }

    @Test func pythonDecodesWhatSwiftEncoded() throws {
        let vectors = try pythonVectors()
        // A consumer built from the older schema passes the newer producer's message on.
        let throughOlder = try RecordV1(serializedBytes: #require(vectors["record_v2"]))
        #expect(!throughOlder.unknownFields.isEmpty)
        let messages: [(String, [UInt8])] = try [
            ("everything_full", Fixtures.everythingFull().serializedBytes()),
            ("everything_extremes", Fixtures.everythingExtremes().serializedBytes()),
            ("legacy_full", Fixtures.legacyFull().serializedBytes()),
            ("legacy_minimal", Fixtures.legacyMinimal().serializedBytes()),
            ("node_chain", Fixtures.nodeChain().serializedBytes()),
            ("record_v2_through_v1", throughOlder.serializedBytes()),
        ]
        let input = messages.map { "\($0.0) \(PythonPeer.hex($0.1))\n" }.joined()
        let output = try PythonPeer.run([PythonPeer.script.path, PythonPeer.protoRoot.path, "check"], input: input)
        #expect(output.status == 0, "Python rejected Swift's bytes:\n\(output.stdout)\n\(output.stderr)")
        for (name, _) in messages {
            #expect(output.stdout.contains("OK \(name)\n"), "no OK for \(name):\n\(output.stdout)")
        }
    }
}
