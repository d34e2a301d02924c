import Foundation
import KitchenSink
import ProtoqueueCodec
import TaskSchemas
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: small, fast, replayable.
struct FuzzRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The fuzz budget: `PROTOQUEUE_FUZZ_ITERATIONS` (default 200,000 inputs in all) and at most
/// `PROTOQUEUE_FUZZ_SECONDS` (default 120 s); `PROTOQUEUE_FUZZ_SEED` replays a run.
enum FuzzBudget {
    static func value(_ name: String, _ fallback: UInt64) -> UInt64 {
        ProcessInfo.processInfo.environment[name].flatMap { UInt64($0) } ?? fallback
    }
    static let iterations = Int(value("PROTOQUEUE_FUZZ_ITERATIONS", 200_000))
    static let seconds = Double(value("PROTOQUEUE_FUZZ_SECONDS", 120))
    static let seed = value("PROTOQUEUE_FUZZ_SEED", 0xF022_5EED)
}

/// Writes protobuf wire format: random but well-formed fields, so that many inputs get past the first byte and
/// reach the typed decoders, nested messages and maps.
struct WireWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    static let interestingVarints: [UInt64] = [
        0, 1, 2, 0x7F, 0x80, 0x3FFF, 0x4000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
        UInt64(bitPattern: -1), UInt64(bitPattern: Int64.min), UInt64(Int64.max),
    ]

    /// A random message body up to `depth` levels of nesting, with field numbers 1…`maxField`.
    static func randomMessage(_ rng: inout FuzzRandom, depth: Int, maxField: UInt64) -> [UInt8] {
        var writer = WireWriter()
        for _ in 0..<Int.random(in: 0...8, using: &rng) {
            let number = UInt64.random(in: 1...maxField, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0...2:
                writer.varint(number << 3 | 0)
                writer.varint(
                    Bool.random(using: &rng)
                        ? interestingVarints.randomElement(using: &rng)! : UInt64.random(in: 0...300, using: &rng))
            case 3:
                writer.varint(number << 3 | 1)
                writer.bytes += (0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 4:
                writer.varint(number << 3 | 5)
                writer.bytes += (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 5...6:
                let text = Array(
                    "ada@example.com ✓ \u{0}\u{7F}".utf8.shuffled(using: &rng).prefix(
                        Int.random(in: 0...12, using: &rng)))
                writer.varint(number << 3 | 2)
                writer.varint(UInt64(text.count))
                writer.bytes += text
            default:
                let inner = depth > 0 ? randomMessage(&rng, depth: depth - 1, maxField: maxField) : []
                writer.varint(number << 3 | 2)
                writer.varint(UInt64(inner.count))
                writer.bytes += inner
            }
        }
        return writer.bytes
    }
}

/// Byte-level mutations of an input.
enum Mutator {
    static func mutate(_ input: [UInt8], corpus: [[UInt8]], _ rng: inout FuzzRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0 where !bytes.isEmpty:  // flip a bit
                bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            case 1 where !bytes.isEmpty:  // an interesting byte
                bytes[position] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x08, 0x0A, 0x12, 0x0B, 0x0C, 0x0F].randomElement(
                    using: &rng)!
            case 2:  // insert random bytes
                bytes.insert(
                    contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in
                        UInt8.random(in: 0...255, using: &rng)
                    }, at: position)
            case 3 where !bytes.isEmpty:  // delete a range
                let end = min(bytes.count, position + Int.random(in: 1...8, using: &rng))
                bytes.removeSubrange(position..<end)
            case 4 where !bytes.isEmpty:  // duplicate a range
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &rng))
                bytes.insert(contentsOf: bytes[position..<end], at: end)
            case 5:  // splice with another input
                if let other = corpus.randomElement(using: &rng), !other.isEmpty {
                    let start = Int.random(in: 0..<other.count, using: &rng)
                    bytes = Array(bytes[..<position]) + other[start...]
                }
            case 6:  // truncate
                bytes = Array(bytes.prefix(position))
            case 7:  // a huge or overlong length / varint
                var writer = WireWriter()
                writer.varint(UInt64.random(in: 1...60, using: &rng) << 3 | 2)
                writer.varint(WireWriter.interestingVarints.randomElement(using: &rng)!)
                bytes.insert(contentsOf: writer.bytes, at: position)
            case 8:  // a ten-byte-plus varint
                bytes.insert(
                    contentsOf: [UInt8](repeating: 0xFF, count: Int.random(in: 9...12, using: &rng)) + [0x01],
                    at: position)
            default:  // append a well-formed random field
                bytes += WireWriter.randomMessage(&rng, depth: 2, maxField: 50)
            }
        }
        return bytes
    }
}

/// Decodes `bytes` as `M`; every failure must be a typed decoding error, every success must re-encode to bytes
/// that decode again and re-encode identically.
struct DecodeOracle<M: ProtoqueueMessage> {
    var decoded = 0
    var refused = 0
    var problems: [String] = []

    mutating func check(_ bytes: [UInt8], seed: UInt64) -> Bool {
        let message: M
        do {
            message = try M(serializedBytes: bytes)
        } catch {
            refused += 1
            if !(error.code == .decodingFailed || error.code == .nestingTooDeep) || error.message.isEmpty {
                problems.append("\(M.protoMessageName) seed \(seed): untyped refusal \(error) for \(bytes)")
            }
            return false
        }
        decoded += 1
        do {
            let first = try message.serializedBytes()
            let again = try M(serializedBytes: first)
            let second = try again.serializedBytes()
            if first != second {
                problems.append("\(M.protoMessageName) seed \(seed): re-encoding is unstable for \(bytes)")
            }
        } catch  where error.code == .encodingFailed {
            // A decoded value protobuf-c cannot carry back (for example U+0000 in a string) is refused, typed.
        } catch {
            problems.append("\(M.protoMessageName) seed \(seed): decoded, then \(error) for \(bytes)")
        }
        return true
    }
}

@Suite("Hostile input: seeded mutation fuzzing of the generated decoders")
struct DecodeFuzzTests {
    /// Inputs protobuf-c 1.4.1 accepted although they are malformed, found by the fuzzer below; decoding them and
    /// encoding the result produced bytes that no longer decoded. Now refused, typed.
    @Test func malformedInputsProtobufCAcceptedAreRefused() throws {
        // Field number 0 written as an overlong varint (80 00, varint value 1): protobuf-c checks only the first
        // byte of a tag, kept it as an unknown field, and re-encoded it as the invalid tag byte 00.
        let vectors: [(String, () throws(ProtoqueueError) -> Void)] = [
            (
                "EmailTask, top level",
                { () throws(ProtoqueueError) in
                    _ = try EmailTask(serializedBytes: [0x0A, 0x01, 0x61, 0x80, 0x00, 0x01])
                }
            ),
            (
                "EmailTask.attachments[0]",
                { () throws(ProtoqueueError) in
                    _ = try EmailTask(serializedBytes: [0x4A, 0x05, 0x0A, 0x00, 0x80, 0x00, 0x01])
                }
            ),
            (
                "Everything, 3-byte zero tag",
                { () throws(ProtoqueueError) in
                    _ = try Everything(serializedBytes: [0x10, 0x9A, 0x03, 0x80, 0x80, 0x00, 0x7F])
                }
            ),
            // A map entry's unknown fields are not kept, but the message is malformed all the same.
            (
                "EmailTask.template_values entry",
                { () throws(ProtoqueueError) in
                    _ = try EmailTask(serializedBytes: [
                        0x22, 0x09, 0x0A, 0x01, 0x6B, 0x12, 0x01, 0x76, 0x80, 0x00, 0x01,
                    ])
                }
            ),
        ]
        for (label, decode) in vectors {
            do {
                try decode()
                Issue.record("\(label): malformed input decoded")
            } catch {
                #expect(
                    error.code == .decodingFailed && error.message.contains("invalid field number 0"),
                    "\(label): \(error)")
            }
        }
        // Valid input still decodes, an unknown field with another number too.
        var task = EmailTask()
        task.to = "a"
        #expect(try EmailTask(serializedBytes: [0x0A, 0x01, 0x61]) == task)
        let unknown = try EmailTask(serializedBytes: [0x0A, 0x01, 0x61, 0xF8, 0x06, 0x01])
        #expect(unknown.to == "a" && !unknown.unknownFields.isEmpty)
        #expect(try EmailTask(serializedBytes: unknown.serializedBytes()) == unknown)
    }

    /// Runs one type for its share of the budget; successful decodes join the corpus (bounded) as mutation seeds.
    static func fuzz<M: ProtoqueueMessage>(
        _ type: M.Type, seeds: [[UInt8]], iterations: Int, seconds: Double, seed: UInt64
    ) -> DecodeOracle<M> {
        var rng = FuzzRandom(seed: seed)
        var oracle = DecodeOracle<M>()
        var corpus = seeds
        let deadline = Date().addingTimeInterval(seconds)
        for index in 0..<iterations {
            if index % 1024 == 0 && Date() > deadline { break }
            let input: [UInt8]
            if index % 8 == 0 {
                input = WireWriter.randomMessage(&rng, depth: 4, maxField: 60)
            } else {
                input = Mutator.mutate(corpus.randomElement(using: &rng)!, corpus: corpus, &rng)
            }
            if oracle.check(input, seed: seed) && input.count < 4096 {
                if corpus.count < 512 {
                    corpus.append(input)
                } else {
                    corpus[Int.random(in: seeds.count..<512, using: &rng)] = input
                }
            }
            if oracle.problems.count > 20 { break }
        }
        return oracle
    }

    static func emailSeeds() throws(ProtoqueueError) -> [[UInt8]] {
        var task = EmailTask()
        task.to = "ada@example.com"
        task.subject = "Welcome ✓"
        task.templateID = "welcome-v3"
        task.templateValues = ["name": "Ada", "plan": "pro", "": ""]
        task.cc = ["grace@example.com", "", "linus@example.com"]
        task.notBeforeUnix = 1_700_000_000
        var attachment = EmailTask.Attachment()
        attachment.fileName = "a.pdf"
        attachment.url = "https://files.example.com/a.pdf"
        attachment.sizeBytes = UInt64.max
        task.attachments = [attachment, EmailTask.Attachment()]
        return [try task.serializedBytes(), try EmailTask().serializedBytes()]
    }

    /// Runs `body` on a thread of its own: the fuzz loop is seconds of synchronous work that would otherwise hold
    /// one of the (few) cooperative threads every other test needs. The thread runs at the lowest priority (nice 19),
    /// so that on a loaded machine it takes the CPU the other tests leave, instead of half of it on two cores: beside
    /// it, tests that time their waits failed by the dozen in a full run on a slow machine.
    static func onOwnThread(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                #if canImport(Glibc)
                // On Linux, PRIO_PROCESS with id 0 sets the calling thread's nice value only.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
                #endif
                body()
                continuation.resume()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    @Test func mutatedInputsAreDecodedOrRefusedWithATypedError() async throws {
        let email = try Self.emailSeeds()
        await Self.onOwnThread { Self.runFuzz(email: email) }
    }

    static func runFuzz(email: [[UInt8]]) {
        let types = 8
        let share = max(1, FuzzBudget.iterations / types)
        let seconds = FuzzBudget.seconds / Double(types)
        let base = FuzzBudget.seed
        var rng = FuzzRandom(seed: base)
        let generic = (0..<32).map { _ in WireWriter.randomMessage(&rng, depth: 4, maxField: 60) }
        let started = Date()
        var total = (decoded: 0, refused: 0)
        var problems: [String] = []
        func record<M>(_ oracle: DecodeOracle<M>) {
            total.decoded += oracle.decoded
            total.refused += oracle.refused
            problems += oracle.problems
            // Each type must see both outcomes, or the fuzzer is not reaching its decoder.
            #expect(
                oracle.decoded > 0 && oracle.refused > 0,
                "\(M.protoMessageName): decoded \(oracle.decoded), refused \(oracle.refused)")
        }
        record(Self.fuzz(EmailTask.self, seeds: email + generic, iterations: share, seconds: seconds, seed: base &+ 1))
        record(Self.fuzz(ImageResizeTask.self, seeds: generic, iterations: share, seconds: seconds, seed: base &+ 2))
        record(Self.fuzz(PipelineRecord.self, seeds: generic, iterations: share, seconds: seconds, seed: base &+ 3))
        record(Self.fuzz(Everything.self, seeds: generic, iterations: share, seconds: seconds, seed: base &+ 4))
        // Legacy (proto2) has required fields, which random bytes rarely satisfy: seed it with a valid message
        // (id = 1, name = "n", required_inner { code = 7 }, count = 3, names = ["a"]).
        let legacy: [UInt8] = [0x08, 0x01, 0x12, 0x01, 0x6E, 0x62, 0x02, 0x08, 0x07, 0x18, 0x03, 0x7A, 0x01, 0x61]
        record(Self.fuzz(Legacy.self, seeds: [legacy] + generic, iterations: share, seconds: seconds, seed: base &+ 5))
        record(Self.fuzz(Node.self, seeds: generic, iterations: share, seconds: seconds, seed: base &+ 6))
        record(Self.fuzz(RecordV2.self, seeds: generic, iterations: share, seconds: seconds, seed: base &+ 7))
        record(Self.fuzz(Edges.self, seeds: generic, iterations: share, seconds: seconds, seed: base &+ 8))
        let runTime = Date().timeIntervalSince(started)
        print(
            "decode fuzz: \(total.decoded + total.refused) inputs (\(total.decoded) decoded, \(total.refused) refused, "
                + "typed) in \(String(format: "%.1f", runTime)) s, seed \(base)"
        )
        #expect(problems.isEmpty, "\(problems.prefix(5).joined(separator: "\n"))")
        // The budget is a fixed count; the time cap only guards a pathological machine, and must not hide a
        // fuzzer that stopped early.
        #expect(
            total.decoded + total.refused >= min(FuzzBudget.iterations, 20_000),
            "only \(total.decoded + total.refused) inputs ran")
    }
}
