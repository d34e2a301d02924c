import KitchenSink

/// The Swift twins of the vectors in Tests/KitchenSink/python/cross_language.py (same names, same values).
enum Fixtures {
    static func everythingFull() -> Everything {
        var e = Everything()
        e.fInt32 = -123_456
        e.fInt64 = -9_876_543_210
        e.fUint32 = 4_000_000_000
        e.fUint64 = 18_000_000_000_000_000_000
        e.fSint32 = -77
        e.fSint64 = -7_777_777_777
        e.fFixed32 = 3_000_000_000
        e.fFixed64 = 12_345_678_901_234_567_890
        e.fSfixed32 = -5
        e.fSfixed64 = -6
        e.fFloat = 1.5
        e.fDouble = -2.25
        e.fBool = true
        e.fString = "héllo wörld ✓ 日本語 🚀"
        e.fBytes = Array(0...255)
        e.mood = .grumpy
        e.color = .blue
        e.nested = .init(label: "nested", values: [1, -2, 3], deeper: .init(id: 99))
        e.money = Money(currency: "EUR", units: 42, nanos: -500)
        e.rInt32 = [1, -1, .max, .min]
        e.rSint64 = [-1, 1, .min]
        e.rDouble = [0.5, -0.0, 1e300]
        e.rBool = [true, false, true]
        e.rFixed32 = [0, .max]
        e.rInt64Unpacked = [5, -5, .max]
        e.rMood = [.happy, .grumpy, .negative]
        e.rString = ["a", "", "ü"]
        e.rBytes = [[], [0, 1]]
        e.rNested = [.init(label: "r0"), .init(values: [7])]
        e.mInt32 = [-1: "minus one", 2: "two"]
        e.mInt64 = [.min: "min"]
        e.mUint32 = [.max: "max"]
        e.mUint64 = [.max: "max"]
        e.mSint32 = [-3: "s32"]
        e.mSint64 = [3: "s64"]
        e.mFixed32 = [7: "f32"]
        e.mFixed64 = [8: "f64"]
        e.mSfixed32 = [-9: "sf32"]
        e.mSfixed64 = [-10: "sf64"]
        e.mBool = [true: "yes", false: "no"]
        e.mString = ["k": "v", "": "empty key"]
        e.mMessage = ["a": .init(label: "in map")]
        e.mEnum = ["h": .happy]
        e.mBytes = [1: [0xFF]]
        e.mDouble = ["pi": 3.25]
        e.choice = .choiceString("chosen")
        e.oInt32 = 0
        e.oString = ""
        e.oMood = .unspecified
        e.oBytes = [UInt8(ascii: "x")]
        e.oDouble = -1.0
        e.oBool = false
        var k = Keywords()
        k.class = 1
        k.default = 2
        k.return = "returned"
        k.struct = true
        k.self_ = 5
        k.init_ = 6
        k.unknownFields_ = 7
        k.serializedBytes_ = 8
        k.protoMessageName_ = "not the real name"
        k.type = 10
        k.protocol = 11
        k.int = 12
        k.descriptor = 13
        k.description_ = 14
        k.hashValue_ = 15
        k.in = Keywords.Type_(is: 3)
        k.where = Keywords.Protocol_(as: 4)
        k.var = 18
        k.func = 19
        k.restrict = 20
        e.keywords = k
        return e
    }

    static func everythingExtremes() -> Everything {
        var e = Everything()
        e.fInt32 = .min
        e.fInt64 = .max
        e.fUint32 = .max
        e.fUint64 = .max
        e.fSint32 = .min
        e.fSint64 = .min
        e.fFixed32 = .max
        e.fFixed64 = .max
        e.fSfixed32 = .max
        e.fSfixed64 = .min
        e.fFloat = .infinity
        e.fDouble = -.infinity
        e.fString = ""
        e.fBytes = (0..<300_000).map { UInt8($0 % 251) }
        e.mood = .unrecognized(7)
        e.rDouble = [.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude]
        e.rMood = [.unrecognized(99), .unrecognized(-5)]
        e.choice = .choiceNested(.init(label: "deep choice"))
        e.oDouble = .nan
        return e
    }

    static func legacyFull() -> Legacy {
        var l = Legacy(id: 7, name: "legacy")
        l.count = 0
        l.countWithDefault = 43
        l.label = "lbl"
        l.labelWithDefault = "hello \"world\""
        l.ratio = 2.5
        l.enabled = false
        l.blob = [0, 1]
        l.level = .low
        l.inner = .init(code: 1, note: "n")
        l.requiredInner = .init(code: 2)
        l.unpacked = [1, 2, 3]
        l.packed = [-1, -2, 3]
        l.names = ["x", "y"]
        l.innerByID = [5: .init(code: 5)]
        l.money = Money(currency: "USD")
        l.small = 0.5
        l.big = 1
        l.pick = .pickString("picked")
        l.class = 9
        return l
    }

    static func legacyMinimal() -> Legacy {
        Legacy(id: 1, name: "", requiredInner: .init(code: 0))
    }

    static func nodeChain() -> Node {
        func level(_ depth: Int32) -> Node {
            var node = Node()
            if depth == 60 {
                node.link = .leaf("bottom")
                return node
            }
            node.value = depth
            node.children = [Node(value: -depth)]
            node.named = ["n\(depth)": Node(value: depth * 10)]
            node.child = level(depth + 1)
            return node
        }
        var root = level(1)
        root.link = .alt(Node(value: 1000))
        return root
    }

    static func recordV2() -> RecordV2 {
        RecordV2(
            id: 1,
            name: "v2",
            inner: .init(a: 1, b: "inner added", c: -3),
            items: [.init(a: 2, b: "item added")],
            addedString: "added ✓",
            addedVarint: -42,
            addedFixed32: 0xDEAD_BEEF,
            addedDouble: 6.5,
            addedMessage: .init(b: "added message"),
            addedPacked: [1, 300, 70000]
        )
    }
}
