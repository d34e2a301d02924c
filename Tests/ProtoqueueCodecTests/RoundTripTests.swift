import KitchenSink
import Testing

@Suite("Round trips through protobuf-c")
struct RoundTripTests {
    @Test func everythingRoundTrips() throws {
        let value = Fixtures.everythingFull()
        let bytes = try value.serializedBytes()
        #expect(bytes.count > 500)
        let decoded = try Everything(serializedBytes: bytes)
        #expect(decoded == value)
        #expect(decoded.keywords?.class == 1)
        #expect(decoded.keywords?.in?.is == 3)
        #expect(decoded.unknownFields.isEmpty)
    }

    @Test func extremesRoundTripBitExactly() throws {
        let value = Fixtures.everythingExtremes()
        let bytes = try value.serializedBytes()
        let decoded = try Everything(serializedBytes: bytes)
        #expect(try decoded.serializedBytes() == bytes)
        #expect(decoded.rDouble[0].isNaN)
        #expect(decoded.rDouble[3].sign == .minus && decoded.rDouble[3] == 0)
        #expect(decoded.oDouble?.isNaN == true)
        #expect(decoded.fBytes == value.fBytes)
        #expect(decoded.fInt64 == .max && decoded.fSint64 == .min && decoded.fUint64 == .max)
    }

    @Test func emptyMessageEncodesToNoBytes() throws {
        #expect(try Everything().serializedBytes() == [])
        #expect(try Everything(serializedBytes: []) == Everything())
    }

    @Test func proto3OptionalKeepsPresenceOfZeroValues() throws {
        var value = Everything()
        value.oInt32 = 0
        value.oString = ""
        value.oBool = false
        let bytes = try value.serializedBytes()
        #expect(!bytes.isEmpty)
        let decoded = try Everything(serializedBytes: bytes)
        #expect(decoded.oInt32 == 0)
        #expect(decoded.oString == "")
        #expect(decoded.oBool == false)
        #expect(decoded.oDouble == nil)
        #expect(decoded.oMood == nil)
        #expect(decoded.oNested == nil)
        value.oNested = .init()
        #expect(try Everything(serializedBytes: value.serializedBytes()).oNested == .init())
    }

    @Test func oneofCases() throws {
        for choice: Everything.Choice in [
            .choiceInt(-1), .choiceString("s"), .choiceNested(.init(label: "n")), .choiceMood(.negative),
            .choiceBytes([1, 2]), .choiceInt(0),
        ] {
            let value = Everything(choice: choice)
            #expect(try Everything(serializedBytes: value.serializedBytes()).choice == choice)
        }
    }

    @Test func unknownEnumValuesAreKept() throws {
        var value = Everything()
        value.mood = .unrecognized(12345)
        value.rMood = [.unrecognized(-7), .happy]
        value.mEnum = ["x": .unrecognized(3)]
        let decoded = try Everything(serializedBytes: value.serializedBytes())
        #expect(decoded.mood == .unrecognized(12345))
        #expect(decoded.mood.rawValue == 12345)
        #expect(decoded.rMood == [.unrecognized(-7), .happy])
        #expect(decoded.mEnum["x"] == .unrecognized(3))
        #expect(Everything.Mood(rawValue: 1) == .happy)
        #expect(Everything.Mood.allCases == [.unspecified, .happy, .grumpy, .negative])
    }

    @Test func mapsEncodeInKeyOrder() throws {
        var a = Everything()
        var b = Everything()
        let keys: [Int32] = [5, -3, 99, 0, 17, -100, 42]
        for key in keys { a.mInt32[key] = "v\(key)" }
        for key in keys.reversed() { b.mInt32[key] = "v\(key)" }
        a.mBool = [true: "t", false: "f"]
        b.mBool = [false: "f", true: "t"]
        a.mString = ["b": "2", "a": "1", "ä": "3"]
        b.mString = ["ä": "3", "a": "1", "b": "2"]
        #expect(try a.serializedBytes() == b.serializedBytes())
        let decoded = try Everything(serializedBytes: a.serializedBytes())
        #expect(decoded.mInt32.count == keys.count)
        #expect(decoded == a)
        // Past 16 entries the encoder sorts with the standard library instead of its insertion sort.
        var large = Everything()
        var reversed = Everything()
        for key in 0..<40 { large.mString["key \(key)"] = "\(key)" }
        for key in (0..<40).reversed() { reversed.mString["key \(key)"] = "\(key)" }
        #expect(try large.serializedBytes() == reversed.serializedBytes())
        #expect(try Everything(serializedBytes: large.serializedBytes()) == large)
    }

    @Test func proto2DefaultsAndPresence() throws {
        let minimal = try Legacy(serializedBytes: Fixtures.legacyMinimal().serializedBytes())
        #expect(minimal.count == nil)
        #expect(minimal.countWithDefault == nil)
        #expect(minimal.countWithDefaultOrDefault == 42)
        #expect(minimal.labelWithDefault == nil)
        #expect(minimal.labelWithDefaultOrDefault == "hello \"world\"")
        #expect(minimal.ratioOrDefault == -1.5)
        #expect(minimal.enabledOrDefault == true)
        #expect(minimal.blobOrDefault == [0x61, 0x01, 0xFF])
        #expect(minimal.levelOrDefault == .high)
        #expect(minimal.smallOrDefault == 0.25)
        #expect(minimal.bigOrDefault == .max)
        #expect(Legacy.Level.aliasHigh == .high)

        let full = Fixtures.legacyFull()
        let decoded = try Legacy(serializedBytes: full.serializedBytes())
        #expect(decoded == full)
        // Present with the default's value is still present.
        #expect(decoded.labelWithDefault == "hello \"world\"")
        #expect(decoded.count == 0)
    }

    @Test func proto2RequiredFieldsAreEnforced() throws {
        // id (1) and name (2) present, required_inner (12) missing.
        let bytes: [UInt8] = [0x08, 0x01, 0x12, 0x00]
        let error = #expect(throws: ProtoqueueError.self) { try Legacy(serializedBytes: bytes) }
        #expect(error?.code == .decodingFailed)
        #expect(error?.message.contains("kitchen.sink.Legacy") == true)
        #expect(error?.message.contains("required_inner") == true)

        let unset = Legacy(id: 1, name: "x")
        let encodeError = #expect(throws: ProtoqueueError.self) { try unset.serializedBytes() }
        #expect(encodeError?.code == .encodingFailed)
        #expect(encodeError?.message.contains("required_inner") == true)
    }

    @Test func recursiveMessagesRoundTrip() throws {
        let node = Fixtures.nodeChain()
        let decoded = try Node(serializedBytes: node.serializedBytes())
        #expect(decoded == node)
        var depth = 0
        var cursor: Node? = decoded
        while let current = cursor {
            depth += 1
            cursor = current.child
        }
        #expect(depth == 60)
    }

    @Test func unknownFieldsSurviveAnOlderSchema() throws {
        let newer = Fixtures.recordV2()
        let older = try RecordV1(serializedBytes: newer.serializedBytes())
        #expect(older.id == 1 && older.name == "v2")
        #expect(older.unknownFields.fields.map(\.number) == [5, 6, 7, 8, 9, 10])
        #expect(older.unknownFields.fields[0].payload == Array("added ✓".utf8))
        #expect(older.inner?.unknownFields.fields.map(\.number) == [2, 3])
        #expect(older.items.first?.unknownFields.fields.map(\.number) == [2])
        let back = try RecordV2(serializedBytes: older.serializedBytes())
        #expect(back == newer)
    }

    @Test func stringsWithNULCannotBeEncoded() throws {
        var value = Everything()
        value.rString = ["ok", "bad\u{0}string"]
        let error = #expect(throws: ProtoqueueError.self) { try value.serializedBytes() }
        #expect(error?.code == .encodingFailed)
        #expect(error?.message.contains("kitchen.sink.Everything.r_string") == true)
        #expect(error?.message.contains("U+0000") == true)
    }

    @Test func protoMessageNames() {
        #expect(Everything.protoMessageName == "kitchen.sink.Everything")
        #expect(Everything.Nested.Deeper.protoMessageName == "kitchen.sink.Everything.Nested.Deeper")
        #expect(Money.protoMessageName == "kitchen.shared.Money")
        #expect(Keywords.Type_.protoMessageName == "kitchen.sink.Keywords.Type")
    }

    @Test func keywordEnumCases() {
        #expect(Keyword.allCases == [.default, .class, .self_, .unrecognized_, .rawValue_, .for])
        #expect(Keyword(rawValue: 3) == .unrecognized_)
        #expect(Keyword(rawValue: 30) == .unrecognized(30))
    }

    @Test func largeMessageSpillsOutOfTheStackArena() throws {
        var value = Everything()
        value.rString = (0..<5000).map { "string number \($0)" }
        value.rNested = (0..<500).map { .init(label: "n\($0)", values: [Int32($0)]) }
        #expect(try Everything(serializedBytes: value.serializedBytes()) == value)
    }
}

@Suite("Generator edge cases")
struct EdgeCaseTests {
    @Test func emptyMessagesInEveryPosition() throws {
        let value = Edges(
            empty: Empty(), empties: [Empty(), Empty()], emptyByName: ["a": Empty()], single: .only,
            only: .onlyEmpty(Empty()))
        let bytes = try value.serializedBytes()
        #expect(bytes == [0x0A, 0x00, 0x12, 0x00, 0x12, 0x00, 0x1A, 0x05, 0x0A, 0x01, 0x61, 0x12, 0x00, 0x2A, 0x00])
        #expect(try Edges(serializedBytes: bytes) == value)
        #expect(try Empty(serializedBytes: []) == Empty())
    }

    @Test func leadingAcronymsAreLowered() throws {
        let value = Acronyms(
            httpHeader: "h", url: "u", ioError: 5, http2Header: "h2", imageURL: "i", httpBody: .jsonText("{}"),
            code: .httpNotFound)
        #expect(try Acronyms(serializedBytes: value.serializedBytes()) == value)
        #expect(Acronyms.Code.allCases == [.httpError, .httpNotFound])
    }
}
