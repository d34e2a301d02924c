import KitchenSink
import Testing

/// Random values of the kitchen-sink types (finite floats only: NaN is covered bit-exactly elsewhere, and
/// `NaN != NaN` would defeat `==`).
struct ValueGenerator {
    var rng: SplitMix64

    mutating func int<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return .min
        case 1: return .max
        case 2: return 0
        case 3: return T(truncatingIfNeeded: Int.random(in: -300...300, using: &rng))
        default: return T(truncatingIfNeeded: rng.next())
        }
    }

    mutating func double() -> Double {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:
            return [0.0, -0.0, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude][
                Int.random(in: 0..<6, using: &rng)]
        case 1: return Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF) * (Bool.random(using: &rng) ? 1 : -1)
        default: return Double.random(in: -1e6...1e6, using: &rng)
        }
    }

    mutating func float() -> Float {
        Int.random(in: 0..<4, using: &rng) == 0
            ? [Float.infinity, -0.0, .greatestFiniteMagnitude, .leastNonzeroMagnitude][
                Int.random(in: 0..<4, using: &rng)]
            : Float.random(in: -1e6...1e6, using: &rng)
    }

    mutating func count(_ limit: Int = 4) -> Int { Int.random(in: 0...limit, using: &rng) }

    mutating func string() -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<count(12) {
            let pools: [ClosedRange<UInt32>] = [
                0x20...0x7E, 0x1...0x1F, 0xA0...0x2FF, 0x4E00...0x4FFF, 0x1F600...0x1F64F,
            ]
            let pool = pools[Int.random(in: 0..<pools.count, using: &rng)]
            scalars.append(Unicode.Scalar(UInt32.random(in: pool, using: &rng))!)
        }
        return String(scalars)
    }

    mutating func bytes() -> [UInt8] { (0..<count(40)).map { _ in UInt8.random(in: 0...255, using: &rng) } }

    mutating func array<T>(_ make: (inout ValueGenerator) -> T) -> [T] {
        (0..<count()).map { _ in make(&self) }
    }

    mutating func map<K: Hashable, V>(
        _ key: (inout ValueGenerator) -> K, _ value: (inout ValueGenerator) -> V
    ) -> [K: V] {
        var result: [K: V] = [:]
        for _ in 0..<count() { result[key(&self)] = value(&self) }
        return result
    }

    mutating func optional<T>(_ make: (inout ValueGenerator) -> T) -> T? {
        Bool.random(using: &rng) ? make(&self) : nil
    }

    mutating func mood() -> Everything.Mood {
        Int.random(in: 0..<5, using: &rng) == 0
            ? .unrecognized(Int32.random(in: 10...1000, using: &rng))
            : Everything.Mood.allCases.randomElement(using: &rng)!
    }

    mutating func nested() -> Everything.Nested {
        Everything.Nested(
            label: string(), values: array { $0.int() },
            deeper: optional { Everything.Nested.Deeper(id: $0.int()) })
    }

    mutating func everything() -> Everything {
        var e = Everything()
        e.fInt32 = int(); e.fInt64 = int(); e.fUint32 = int(); e.fUint64 = int()
        e.fSint32 = int(); e.fSint64 = int(); e.fFixed32 = int(); e.fFixed64 = int()
        e.fSfixed32 = int(); e.fSfixed64 = int(); e.fFloat = float(); e.fDouble = double()
        e.fBool = Bool.random(using: &rng); e.fString = string(); e.fBytes = bytes(); e.mood = mood()
        e.color = Color.allCases.randomElement(using: &rng)!
        e.nested = optional { $0.nested() }
        e.money = optional { Money(currency: $0.string(), units: $0.int(), nanos: $0.int()) }
        e.rInt32 = array { $0.int() }; e.rSint64 = array { $0.int() }; e.rDouble = array { $0.double() }
        e.rBool = array { Bool.random(using: &$0.rng) }; e.rFixed32 = array { $0.int() }
        e.rInt64Unpacked = array { $0.int() }; e.rMood = array { $0.mood() }; e.rString = array { $0.string() }
        e.rBytes = array { $0.bytes() }; e.rNested = array { $0.nested() }
        e.mInt32 = map({ $0.int() }, { $0.string() }); e.mInt64 = map({ $0.int() }, { $0.string() })
        e.mUint32 = map({ $0.int() }, { $0.string() }); e.mUint64 = map({ $0.int() }, { $0.string() })
        e.mSint32 = map({ $0.int() }, { $0.string() }); e.mSint64 = map({ $0.int() }, { $0.string() })
        e.mFixed32 = map({ $0.int() }, { $0.string() }); e.mFixed64 = map({ $0.int() }, { $0.string() })
        e.mSfixed32 = map({ $0.int() }, { $0.string() }); e.mSfixed64 = map({ $0.int() }, { $0.string() })
        e.mBool = map({ Bool.random(using: &$0.rng) }, { $0.string() });
        e.mString = map({ $0.string() }, { $0.string() })
        e.mMessage = map({ $0.string() }, { $0.nested() }); e.mEnum = map({ $0.string() }, { $0.mood() })
        e.mBytes = map({ $0.int() }, { $0.bytes() }); e.mDouble = map({ $0.string() }, { $0.double() })
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: e.choice = .choiceInt(int())
        case 1: e.choice = .choiceString(string())
        case 2: e.choice = .choiceNested(nested())
        case 3: e.choice = .choiceMood(mood())
        case 4: e.choice = .choiceBytes(bytes())
        default: e.choice = nil
        }
        e.oInt32 = optional { $0.int() }; e.oString = optional { $0.string() }; e.oMood = optional { $0.mood() }
        e.oBytes = optional { $0.bytes() }; e.oDouble = optional { $0.double() }
        e.oBool = optional { Bool.random(using: &$0.rng) }
        e.keywords = optional { g in Keywords(class: g.int(), default: g.int(), return: g.string(), self_: g.int()) }
        return e
    }

    mutating func legacy() -> Legacy {
        var l = Legacy(
            id: int(), name: string(), requiredInner: Legacy.Inner(code: int(), note: optional { $0.string() }))
        l.count = optional { $0.int() }; l.countWithDefault = optional { $0.int() }
        l.label = optional { $0.string() }; l.labelWithDefault = optional { $0.string() }
        l.ratio = optional { $0.double() }; l.enabled = optional { Bool.random(using: &$0.rng) }
        l.blob = optional { $0.bytes() }; l.level = optional { _ in .low }
        l.inner = optional { Legacy.Inner(code: $0.int()) }
        l.unpacked = array { $0.int() }; l.packed = array { $0.int() }; l.names = array { $0.string() }
        l.innerByID = map({ $0.int() }, { Legacy.Inner(code: $0.int()) })
        l.small = optional { $0.float() }; l.big = optional { $0.int() }
        l.pick = Bool.random(using: &rng) ? .pickInt(int()) : .pickString(string())
        l.class = optional { $0.int() }
        return l
    }

    mutating func node(depth: Int) -> Node {
        var n = Node(value: int())
        guard depth > 0 else { return n }
        n.child = optional { $0.node(depth: depth - 1) }
        n.children = (0..<count(2)).map { _ in node(depth: depth - 1) }
        n.named = map({ $0.string() }, { $0.node(depth: 0) })
        if Bool.random(using: &rng) {
            n.link = Bool.random(using: &rng) ? .alt(node(depth: depth - 1)) : .leaf(string())
        }
        return n
    }
}

@Suite("Property-based round trips (seeded)")
struct PropertyTests {
    static let iterations = 400

    func roundTrip<M: ProtoqueueMessage>(_ value: M, iteration: Int) throws {
        let bytes = try value.serializedBytes()
        let decoded = try M(serializedBytes: bytes)
        #expect(decoded == value, "seed \(TestSeed.value), iteration \(iteration): \(M.protoMessageName) changed")
        #expect(try decoded.serializedBytes() == bytes, "seed \(TestSeed.value), iteration \(iteration): bytes changed")
    }

    @Test func everything() throws {
        var generator = ValueGenerator(rng: SplitMix64(seed: TestSeed.value))
        for iteration in 0..<Self.iterations { try roundTrip(generator.everything(), iteration: iteration) }
    }

    @Test func legacy() throws {
        var generator = ValueGenerator(rng: SplitMix64(seed: TestSeed.value &+ 1))
        for iteration in 0..<Self.iterations { try roundTrip(generator.legacy(), iteration: iteration) }
    }

    @Test func recursiveNodes() throws {
        var generator = ValueGenerator(rng: SplitMix64(seed: TestSeed.value &+ 2))
        for iteration in 0..<Self.iterations { try roundTrip(generator.node(depth: 5), iteration: iteration) }
    }

    @Test func newerSchemaThroughOlderSchema() throws {
        var generator = ValueGenerator(rng: SplitMix64(seed: TestSeed.value &+ 3))
        for iteration in 0..<Self.iterations {
            var inner = InnerV2(a: generator.int(), b: generator.string(), c: generator.int())
            if Bool.random(using: &generator.rng) { inner.b = "" }
            let newer = RecordV2(
                id: generator.int(), name: generator.string(), inner: inner, items: [inner, InnerV2(a: 1)],
                addedString: generator.string(), addedVarint: generator.int(), addedFixed32: generator.int(),
                addedDouble: generator.double(), addedMessage: generator.optional { _ in inner },
                addedPacked: generator.array { $0.int() })
            let older = try RecordV1(serializedBytes: newer.serializedBytes())
            let back = try RecordV2(serializedBytes: older.serializedBytes())
            #expect(back == newer, "seed \(TestSeed.value), iteration \(iteration)")
        }
    }
}
