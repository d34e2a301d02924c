import Synchronization
import Testing

@testable import Protoqueue

/// The shared budget of a `QueueWorker`: every case of `SlotBudget.decide`, and the wake-ups.
@Suite("Slot budget")
struct SlotBudgetTests {
    func decide(_ usage: [UInt64: Int], waiting: Set<UInt64> = [], for id: UInt64 = 1, wanted: Int) -> Int {
        SlotBudget.decide(total: 8, usage: usage, waiting: waiting, for: id, wanted: wanted)
    }

    @Test func aProcessorAloneGetsWhatIsFree() {
        #expect(decide([:], wanted: 8) == 8)
        #expect(decide([:], wanted: 3) == 3)
        #expect(decide([1: 2], wanted: 8) == 6)
        #expect(decide([1: 8], wanted: 1) == 0)
    }

    @Test func othersUsageLimitsTheFreeSlots() {
        #expect(decide([2: 5], wanted: 8) == 3)
        #expect(decide([2: 4, 3: 4], wanted: 1) == 0)
    }

    @Test func whileOthersWaitAProcessorGetsNoMoreThanItsShare() {
        // Two others wait: share = 8 / 3 = 2.
        #expect(decide([1: 0, 2: 0, 3: 0], waiting: [2, 3], wanted: 8) == 2)
        #expect(decide([1: 1], waiting: [2, 3], wanted: 8) == 1)
        #expect(decide([1: 2], waiting: [2, 3], wanted: 8) == 0)
        // Its own waiting does not count against it.
        #expect(decide([1: 0], waiting: [1], wanted: 8) == 8)
    }

    @Test func aShareIsAtLeastOneSlot() {
        let waiting = Set<UInt64>((2...20).map { $0 })
        #expect(decide([:], waiting: waiting, wanted: 4) == 1)
    }

    @Test func releasedSlotsWakeTheWaitingProcessorsOnly() {
        let budget = SlotBudget(total: 4)
        let woken = Mutex<[UInt64]>([])
        budget.report(1, footprint: 4)
        #expect(budget.allowance(for: 2, wanted: 2) { woken.withLock { $0.append(2) } } == 0)
        #expect(budget.allowance(for: 3, wanted: 1) { woken.withLock { $0.append(3) } } == 0)
        budget.report(1, footprint: 4)  // no change: nobody woken
        #expect(woken.withLock { $0 }.isEmpty)
        budget.report(1, footprint: 2)
        #expect(woken.withLock { $0 }.sorted() == [2, 3])
        // Processor 2 asks again: two free, but 3 waits too, so its share is 4 / 2 = 2.
        #expect(budget.allowance(for: 2, wanted: 2) { woken.withLock { $0.append(2) } } == 2)
        budget.report(2, footprint: 2)
        budget.remove(1)
        #expect(budget.allowance(for: 3, wanted: 1) {} == 1)
    }
}
