import KitchenSink
import Testing

@Suite("Malformed, truncated and deeply nested input")
struct BadInputTests {
    /// Decodes and returns the error, failing the test when decoding succeeds.
    func decodingError<M: ProtoqueueMessage>(_ type: M.Type, _ bytes: [UInt8]) -> ProtoqueueError? {
        #expect(throws: ProtoqueueError.self) { try M(serializedBytes: bytes) }
    }

    static func varint(_ value: Int) -> [UInt8] {
        var value = UInt64(value)
        var bytes: [UInt8] = []
        repeat {
            bytes.append(UInt8(value & 0x7F) | (value > 0x7F ? 0x80 : 0))
            value >>= 7
        } while value > 0
        return bytes
    }

    /// `levels` Node messages nested through `tag` (a length-delimited field holding a Node, or a map entry).
    static func nestedNodes(levels: Int, wrap: ([UInt8]) -> [UInt8]) -> [UInt8] {
        var payload: [UInt8] = [0x08, 0x01]  // value = 1
        for _ in 1..<levels { payload = wrap(payload) }
        return payload
    }

    static func child(_ inner: [UInt8]) -> [UInt8] { [0x12] + varint(inner.count) + inner }
    static func children(_ inner: [UInt8]) -> [UInt8] { [0x1A] + varint(inner.count) + inner }
    static func alt(_ inner: [UInt8]) -> [UInt8] { [0x2A] + varint(inner.count) + inner }
    static func named(_ inner: [UInt8]) -> [UInt8] {
        let entry: [UInt8] = [0x0A, 0x01, 0x6B] + [0x12] + varint(inner.count) + inner
        return [0x22] + varint(entry.count) + entry
    }

    @Test func everyTruncationIsAnErrorOrAValidPrefix() throws {
        let bytes = try Fixtures.everythingFull().serializedBytes()
        var failures = 0
        for length in 0..<bytes.count {
            do {
                _ = try Everything(serializedBytes: Array(bytes[0..<length]))
            } catch {
                failures += 1
                #expect(error.code == .decodingFailed)
                #expect(error.message.hasPrefix("kitchen.sink.Everything: "))
            }
        }
        #expect(failures > bytes.count / 2)
    }

    @Test func wrongWireTypeNamesTheField() {
        // Field 1 (f_int32, varint) sent as fixed32.
        let error = decodingError(Everything.self, [0x0D, 0x01, 0x00, 0x00, 0x00])
        #expect(error?.code == .decodingFailed)
        #expect(error?.message == "kitchen.sink.Everything: field 1 (f_int32) has wire type 5, expected 0, at byte 0")
    }

    @Test func truncatedVarint() {
        let error = decodingError(Everything.self, [0x08, 0x80])
        #expect(error?.message == "kitchen.sink.Everything: truncated varint for field 1 (f_int32) at byte 1")
    }

    @Test func lengthPastTheEnd() {
        let error = decodingError(Everything.self, [0x72, 0x05, 0x61])
        #expect(error?.message.contains("field 14 (f_string): length 5 at byte 1 runs past the end") == true)
    }

    @Test func groupAndInvalidWireTypes() {
        #expect(decodingError(Everything.self, [0x9B, 0x06])?.message.contains("group wire type 3") == true)
        #expect(decodingError(Everything.self, [0x9E, 0x06])?.message.contains("invalid wire type 6") == true)
        #expect(decodingError(Everything.self, [0x00, 0x01])?.message.contains("invalid field number 0") == true)
        #expect(
            decodingError(Everything.self, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])?
                .message.contains("malformed varint") == true)
    }

    @Test func problemInANestedMessage() {
        // nested (18) holding a truncated varint for Nested.deeper's id.
        let inner: [UInt8] = [0x1A, 0x02, 0x08, 0x80]
        let error = decodingError(Everything.self, [0x92, 0x01] + Self.varint(inner.count) + inner)
        #expect(error?.code == .decodingFailed)
        #expect(error?.message.contains("truncated varint") == true)
    }

    @Test(arguments: ["child", "children", "alt", "named"])
    func tenThousandLevelsAreRefused(through field: String) {
        let wrap: ([UInt8]) -> [UInt8] =
            switch field {
            case "child": Self.child
            case "children": Self.children
            case "alt": Self.alt
            default: Self.named
            }
        let bytes = Self.nestedNodes(levels: 10_000, wrap: wrap)
        let error = decodingError(Node.self, bytes)
        #expect(error?.code == .nestingTooDeep)
        #expect(error?.message.contains("kitchen.sink.Node: messages nest deeper than 100 levels") == true)
    }

    @Test func theLimitIsExactlyOneHundredLevels() throws {
        #expect(ProtoqueueDecodingLimits.maximumDepth == 100)
        let accepted = Self.nestedNodes(levels: 100, wrap: Self.child)
        var node = try Node(serializedBytes: accepted)
        var depth = 1
        while let child = node.child {
            node = child
            depth += 1
        }
        #expect(depth == 100)
        let refused = Self.nestedNodes(levels: 101, wrap: Self.child)
        #expect(decodingError(Node.self, refused)?.code == .nestingTooDeep)
    }

    @Test func deepNestingInsideAnUnknownFieldIsOpaque() throws {
        // A non-recursive message keeps a deeply nested unknown field as bytes; nothing recurses into it.
        let deep = Self.nestedNodes(levels: 10_000, wrap: Self.child)
        let bytes: [UInt8] = [0x0A, 0x03, 0x45, 0x55, 0x52] + [0x9A, 0x06] + Self.varint(deep.count) + deep
        let money = try Money(serializedBytes: bytes)
        #expect(money.currency == "EUR")
        #expect(money.unknownFields.fields.first?.number == 99)
        #expect(money.unknownFields.fields.first?.payload == deep)
        #expect(try money.serializedBytes() == bytes)
    }

    @Test func missingRequiredFieldInANestedMessage() {
        // Legacy with id, name and required_inner present but required_inner.code (required) missing.
        let bytes: [UInt8] = [0x08, 0x01, 0x12, 0x00, 0x62, 0x00]
        let error = decodingError(Legacy.self, bytes)
        #expect(error?.message.contains("missing required field code") == true)
    }

    @Test func randomAndMutatedBytesNeverCrash() throws {
        var rng = SplitMix64(seed: TestSeed.value)
        let valid = try [
            Fixtures.everythingFull().serializedBytes(), Fixtures.legacyFull().serializedBytes(),
            Fixtures.nodeChain().serializedBytes(), Fixtures.recordV2().serializedBytes(),
        ]
        var decoded = 0
        var refused = 0
        func attempt<M: ProtoqueueMessage>(_ type: M.Type, _ bytes: [UInt8]) {
            do {
                _ = try M(serializedBytes: bytes)
                decoded += 1
            } catch {
                refused += 1
                #expect(error.code == .decodingFailed || error.code == .nestingTooDeep, "seed \(TestSeed.value)")
            }
        }
        func attempt(_ bytes: [UInt8]) {
            attempt(Everything.self, bytes)
            attempt(Legacy.self, bytes)
            attempt(Node.self, bytes)
            attempt(RecordV1.self, bytes)
        }
        for _ in 0..<1500 {
            attempt((0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            var mutated = valid[Int.random(in: 0..<valid.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            attempt(mutated)
        }
        #expect(decoded > 0 && refused > 0, "seed \(TestSeed.value)")
    }
}
