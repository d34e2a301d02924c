import Foundation
import KitchenSink
import ProtoqueueSchema
import Testing

/// The descriptor-driven JSON codec against Google's `json_format` (Python), on the kitchen-sink vectors in both
/// directions and on seeded random messages; and on hostile input.
@Suite(
    "Proto3 JSON from descriptors, checked against Python's json_format",
    .enabled(
        if: PythonPeer.isAvailable || PythonPeer.isCI,
        "needs python3 with the protobuf package; with CI=true it is required")
)
struct ProtoJSONTests {
    static let codec: ProtoJSON = {
        var files: [[UInt8]] = []
        for set in [
            Everything.protoFileDescriptorSet, Legacy.protoFileDescriptorSet, Node.protoFileDescriptorSet,
            RecordV2.protoFileDescriptorSet,
        ] {
            files.append(set)
        }
        // Each type's set holds its file and imports; the first holds types.proto and scalars.proto.
        let merged = try! SchemaSet(descriptorSet: files.flatMap { $0 })
        return ProtoJSON(schemas: merged)
    }()

    /// Sends `(name, type, bytes)` through the codec to Python's check; every line must come back OK.
    func checkWithPython(_ vectors: [(name: String, type: String, bytes: [UInt8])]) throws {
        var input = ""
        for vector in vectors {
            let json = try Self.codec.json(fromProtobuf: vector.bytes, message: vector.type).text()
            input +=
                "\(vector.name) \(vector.type) \(PythonPeer.hex(vector.bytes)) \(PythonPeer.hex(Array(json.utf8)))\n"
        }
        let output = try PythonPeer.run([PythonPeer.script.path, PythonPeer.protoRoot.path, "json"], input: input)
        #expect(output.status == 0, "json_format disagrees:\n\(output.stdout.prefix(4000))\n\(output.stderr)")
        #expect(output.stdout.split(separator: "\n").filter { $0.hasPrefix("OK ") }.count == vectors.count)
    }

    @Test func swiftsJSONOfTheKitchenSinkIsJSONFormats() throws {
        try checkWithPython([
            ("everything_full", Everything.protoMessageName, Fixtures.everythingFull().serializedBytes()),
            ("everything_extremes", Everything.protoMessageName, Fixtures.everythingExtremes().serializedBytes()),
            ("everything_empty", Everything.protoMessageName, []),
            ("legacy_full", Legacy.protoMessageName, Fixtures.legacyFull().serializedBytes()),
            ("legacy_minimal", Legacy.protoMessageName, Fixtures.legacyMinimal().serializedBytes()),
            ("node_chain", Node.protoMessageName, Fixtures.nodeChain().serializedBytes()),
            ("record_v2", RecordV2.protoMessageName, Fixtures.recordV2().serializedBytes()),
        ])
    }

    @Test func jsonFormatsJSONReadsBackIntoTheSameMessages() throws {
        let output = try PythonPeer.run([PythonPeer.script.path, PythonPeer.protoRoot.path, "json-encode"])
        #expect(output.status == 0, "cross_language.py json-encode failed: \(output.stderr)")
        var seen = 0
        for line in output.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            let (name, type) = (String(parts[0]), String(parts[1]))
            let json = String(decoding: PythonPeer.bytes(hex: parts[2]), as: UTF8.self)
            let bytes = try Self.codec.protobuf(fromJSON: json, message: type)
            switch name {
            case "everything_full":
                #expect(try Everything(serializedBytes: bytes) == Fixtures.everythingFull())
            case "everything_extremes":
                let expected = try Fixtures.everythingExtremes().serializedBytes()
                #expect(try Everything(serializedBytes: bytes).serializedBytes() == expected)
            case "everything_empty": #expect(bytes.isEmpty)
            case "legacy_full": #expect(try Legacy(serializedBytes: bytes) == Fixtures.legacyFull())
            case "legacy_minimal": #expect(try Legacy(serializedBytes: bytes) == Fixtures.legacyMinimal())
            case "node_chain": #expect(try Node(serializedBytes: bytes) == Fixtures.nodeChain())
            case "record_v2": #expect(try RecordV2(serializedBytes: bytes) == Fixtures.recordV2())
            default: Issue.record("unknown vector \(name)")
            }
            seen += 1
        }
        #expect(seen == 7)
    }

    @Test func randomMessagesAgreeWithJSONFormatAndRoundTrip() throws {
        var generator = ValueGenerator(rng: SplitMix64(seed: TestSeed.value))
        var vectors: [(name: String, type: String, bytes: [UInt8])] = []
        for iteration in 0..<300 {
            let everything = generator.everything()
            let legacy = generator.legacy()
            for (type, bytes) in [
                (Everything.protoMessageName, try everything.serializedBytes()),
                (Legacy.protoMessageName, try legacy.serializedBytes()),
            ] {
                let json = try Self.codec.json(fromProtobuf: bytes, message: type)
                let back = try Self.codec.protobuf(fromJSON: json.text(), message: type)
                if type == Everything.protoMessageName {
                    #expect(try Everything(serializedBytes: back) == everything, "seed \(TestSeed.value) #\(iteration)")
                } else {
                    #expect(try Legacy(serializedBytes: back) == legacy, "seed \(TestSeed.value) #\(iteration)")
                }
                vectors.append(("random-\(iteration)-\(type)", type, bytes))
            }
        }
        try checkWithPython(vectors)
    }
}

/// Mutated bytes and JSON text through the codec: typed errors, never a crash (also under AddressSanitizer in
/// scripts/test.sh, with PROTOQUEUE_FUZZ_ITERATIONS=50000).
@Suite("Proto3 JSON on hostile input")
struct ProtoJSONHostileTests {
    @Test func hostileBytesAndJSONAreTypedErrorsNeverCrashes() throws {
        var rng = SplitMix64(seed: TestSeed.value)
        let (codec, type) = (ProtoJSONTests.codec, Everything.protoMessageName)
        let valid = try Fixtures.everythingFull().serializedBytes()
        let json = try codec.json(fromProtobuf: valid, message: type).text()
        let iterations = Int(ProcessInfo.processInfo.environment["PROTOQUEUE_FUZZ_ITERATIONS"] ?? "") ?? 3000
        for _ in 0..<iterations {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            do {
                _ = try codec.json(fromProtobuf: bytes, message: type)
            } catch {
                #expect([.decodingFailed, .nestingTooDeep].contains(error.code), "\(error)")
            }
            var text = Array(json.utf8)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                text[Int.random(in: 0..<text.count, using: &rng)] = UInt8.random(in: 0...127, using: &rng)
            }
            do {
                _ = try codec.protobuf(fromJSON: String(decoding: text, as: UTF8.self), message: type)
            } catch {
                #expect([.decodingFailed, .nestingTooDeep].contains(error.code), "\(error)")
            }
        }
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: ProtoqueueError.self) { try JSONValue(parsing: deep) }
        for bad in [#"{"fInt32": 1, "fInt32": 2}"#, #"{"noSuchField": 1}"#, #"{"fInt32": 2147483648}"#] {
            #expect(throws: ProtoqueueError.self) { try codec.protobuf(fromJSON: bad, message: type) }
        }
    }
}
