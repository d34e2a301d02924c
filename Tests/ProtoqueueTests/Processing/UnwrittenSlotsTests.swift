import Testing

@testable import Protoqueue

/// Slots released awaiting the write of their acknowledgements: which are written when, and how often the hub looks.
@Suite("Slots awaiting their write")
struct UnwrittenSlotsTests {
    private let ms: UInt64 = 1_000_000

    @Test func slotsAreWrittenByTheirWriteOrByAnEmptyBuffer() {
        var slots = UnwrittenSlots<String>()
        #expect(slots.isEmpty && slots.awaitedWrite == nil && slots.nextLook(now: 0) == nil)
        slots.add(2, of: "a", write: 1, now: 0)
        slots.add(1, of: "b", write: 1, now: 0)
        slots.add(3, of: "a", write: 2, now: 1 * ms)
        #expect(slots.awaitedWrite == 1)
        // Write 1 not answered and bytes still buffered: nothing yet.
        #expect(slots.takeWritten(lastWrite: 0, now: 1 * ms) { false }.isEmpty)
        // Write 1 answered: its entries, in order; the buffer is not asked about write 2 then.
        var asked = false
        let first = slots.takeWritten(lastWrite: 1, now: 2 * ms) {
            asked = true
            return false
        }
        #expect(first.map(\.owner) == ["a", "b"] && first.map(\.count) == [2, 1] && !asked)
        #expect(slots.awaitedWrite == 2)
        // Nothing buffered: everything published before is written, write 2's entries too.
        let rest = slots.takeWritten(lastWrite: 1, now: 3 * ms) { true }
        #expect(rest.map(\.owner) == ["a"] && rest.map(\.count) == [3] && slots.isEmpty)
    }

    @Test func theHubLooksEveryTenthOfAMillisecondThenEveryMillisecondWithoutAWrite() {
        var slots = UnwrittenSlots<Int>()
        slots.add(1, of: 0, write: 1, now: 10 * ms)
        #expect(slots.nextLook(now: 10 * ms) == 10 * ms + 100_000)
        #expect(slots.nextLook(now: 14 * ms) == 14 * ms + 100_000)
        #expect(slots.nextLook(now: 15 * ms) == 16 * ms)
        // A write resets the wait.
        slots.add(1, of: 0, write: 2, now: 15 * ms)
        _ = slots.takeWritten(lastWrite: 1, now: 16 * ms) { false }
        #expect(slots.nextLook(now: 17 * ms) == 17 * ms + 100_000)
    }
}
