#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small, fast, seedable generator (SplitMix64) so that random tests can be replayed.
struct SplitMix64: RandomNumberGenerator {
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

/// The seed of the random tests: `PROTOQUEUE_TEST_SEED` when set (to replay a failure), else a fixed value.
/// Every failure message includes it.
enum TestSeed {
    static let value: UInt64 = {
        if let text = getenv("PROTOQUEUE_TEST_SEED"), let seed = UInt64(String(cString: text)) { return seed }
        return 0x5EED_2026
    }()
}
