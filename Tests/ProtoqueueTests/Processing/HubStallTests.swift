import Testing

@testable import Protoqueue

/// When the processing thread counts as having been stopped.
@Suite("Hub stall rule")
struct HubStallTests {
    private let ms: UInt64 = 1_000_000

    @Test func wakingWellAfterTheDeadlineIsAStop() {
        #expect(HubStall.stopped(deadline: 1_000 * ms, woke: 6_000 * ms, previousRun: 0))
        #expect(HubStall.stopped(deadline: 1_000 * ms, woke: 1_101 * ms, previousRun: 0))
    }

    @Test func wakingOnTimeOrEarlyIsNot() {
        #expect(!HubStall.stopped(deadline: 1_000 * ms, woke: 1_000 * ms, previousRun: 0))
        #expect(!HubStall.stopped(deadline: 1_000 * ms, woke: 1_100 * ms, previousRun: 0))
        #expect(!HubStall.stopped(deadline: 1_000 * ms, woke: 400 * ms, previousRun: 0))
        // Woken by work, with no deadline: how long it waited says nothing.
        #expect(!HubStall.stopped(deadline: nil, woke: 60_000 * ms, previousRun: 2 * ms))
    }

    @Test func aRunThatTookTooLongIsAStopWhateverTheWait() {
        #expect(HubStall.stopped(deadline: nil, woke: 5 * ms, previousRun: 101 * ms))
        #expect(HubStall.stopped(deadline: 1_000 * ms, woke: 900 * ms, previousRun: 5_000 * ms))
        #expect(!HubStall.stopped(deadline: nil, woke: 5 * ms, previousRun: 100 * ms))
    }
}
