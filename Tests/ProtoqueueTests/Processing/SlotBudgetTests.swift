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

    /// CI's failure on nats-server 2.9.10: an email queue capped at one slot renewed its pull request before the
    /// first was answered and was refused (nothing free); the first request's delivery then filled it, and the image
    /// queue, refused past its share while the email queue waited, was never woken: images held 2 of the 3 slots left.
    @Test func aWaitingProcessorFilledByAnEarlierRequestStopsShrinkingTheOthersShares() {
        let budget = SlotBudget(total: 4)
        let woken = Mutex<[UInt64]>([])
        let emails: UInt64 = 1
        let images: UInt64 = 2
        budget.report(emails, footprint: 1)
        budget.report(images, footprint: 3)
        #expect(budget.allowance(for: emails, wanted: 1) { woken.withLock { $0.append(emails) } } == 0)
        // The image queue's third task was requested and not delivered; it came back unfilled.
        budget.report(images, footprint: 2)
        #expect(woken.withLock { $0 } == [emails])
        // Its share while the email queue waits is 4 / 2 = 2: refused.
        #expect(budget.allowance(for: images, wanted: 2) { woken.withLock { $0.append(images) } } == 0)
        // The email queue's first request delivers: it is full and asks for nothing more.
        budget.report(emails, footprint: 1, full: true)
        #expect(woken.withLock { $0 } == [emails, images])
        #expect(budget.allowance(for: images, wanted: 2) {} == 1)
        // A full processor that was not waiting wakes nobody.
        budget.report(emails, footprint: 1, full: true)
        #expect(woken.withLock { $0 } == [emails, images])
    }

    @Test func aWaitingProcessorServedInFullWakesTheOthersWaiting() {
        let budget = SlotBudget(total: 4)
        let woken = Mutex<[UInt64]>([])
        budget.report(1, footprint: 4)
        #expect(budget.allowance(for: 2, wanted: 1) { woken.withLock { $0.append(2) } } == 0)
        budget.report(1, footprint: 2)
        #expect(woken.withLock { $0 } == [2])
        // Processor 1 asks past its share (2, with 2 waiting) before 2 takes its turn.
        #expect(budget.allowance(for: 1, wanted: 2) { woken.withLock { $0.append(1) } } == 0)
        // Processor 2 takes its slot and stops waiting: 1's share is the whole budget again.
        #expect(budget.allowance(for: 2, wanted: 1) {} == 1)
        #expect(woken.withLock { $0 } == [2, 1])
        budget.report(2, footprint: 1)
        #expect(budget.allowance(for: 1, wanted: 2) {} == 1)
        // Served in full when it was not waiting: nobody else is woken.
        #expect(budget.allowance(for: 2, wanted: 0) {} == 0)
        #expect(woken.withLock { $0 } == [2, 1])
    }

    /// Two processors asking at once, before either reports its new footprint, are not given the same free slots.
    @Test func allowedSlotsCountAsTakenUntilTheNextReport() {
        let budget = SlotBudget(total: 4)
        #expect(budget.allowance(for: 1, footprint: 0, wanted: 3) {} == 3)
        #expect(budget.allowance(for: 2, footprint: 0, wanted: 3) {} == 1)
        // Processor 1's pull could not be sent: its report returns the slots. Three are free; processor 2 waits, so
        // processor 3's share is 4 / 2.
        budget.report(1, footprint: 0)
        #expect(budget.allowance(for: 3, wanted: 3) {} == 2)
    }

    /// A footprint given with the question replaces the last one reported; a smaller one wakes the waiting.
    @Test func aSmallerFootprintGivenWithTheQuestionWakesTheWaiting() {
        let budget = SlotBudget(total: 4)
        let woken = Mutex<[UInt64]>([])
        budget.report(1, footprint: 4)
        #expect(budget.allowance(for: 2, wanted: 1) { woken.withLock { $0.append(2) } } == 0)
        // Processor 1's requests were given up meanwhile: it holds 1, and asks for 1 more.
        #expect(budget.allowance(for: 1, footprint: 1, wanted: 1) {} == 1)
        #expect(woken.withLock { $0 } == [2])
        #expect(budget.allowance(for: 2, wanted: 2) {} == 2)
    }

    /// A queue that ran dry probes on a free slot while nobody waits for one, and on none while another does: an idle
    /// strict tier's probe would otherwise keep a budget of one from the tier below for good.
    @Test func aProbeTakesAFreeSlotOnlyWhileNobodyWaits() {
        let budget = SlotBudget(total: 1)
        let woken = Mutex<[UInt64]>([])
        #expect(budget.probe(for: 1, footprint: 0) { woken.withLock { $0.append(1) } } == .budgeted)
        #expect(budget.probeRelease(for: 1) == .keep)
        // Processor 2 starts waiting: the prober is woken to give its slot back, once.
        #expect(budget.allowance(for: 2, wanted: 1) { woken.withLock { $0.append(2) } } == 0)
        #expect(budget.allowance(for: 2, wanted: 1) { woken.withLock { $0.append(2) } } == 0)
        #expect(woken.withLock { $0 } == [1])
        #expect(budget.probeRelease(for: 1) == .afterGrace && budget.probeRelease(for: 2) == .keep)
        // It lets its probe hold no slot (or the probe ended unfilled); the next one goes on none.
        budget.report(1, footprint: 0)
        #expect(woken.withLock { $0 } == [1, 2])
        #expect(budget.probe(for: 1, footprint: 0) { woken.withLock { $0.append(1) } } == .unbudgeted)
        #expect(budget.allowance(for: 2, wanted: 1) {} == 1)
        // The probe's delivery asks for a slot: none until processor 2 releases its own.
        #expect(budget.allowance(for: 1, footprint: 0, wanted: 1) { woken.withLock { $0.append(1) } } == 0)
        budget.report(2, footprint: 0)
        #expect(woken.withLock { $0 } == [1, 2, 1])
    }

    /// A processor that probes no longer counts among the waiting: the others' shares grow, and they are woken.
    @Test func aProbingProcessorStopsWaitingAndWakesTheOthers() {
        let budget = SlotBudget(total: 4)
        let woken = Mutex<[UInt64]>([])
        budget.report(1, footprint: 4)
        #expect(budget.allowance(for: 2, wanted: 2) { woken.withLock { $0.append(2) } } == 0)
        #expect(budget.allowance(for: 3, wanted: 4) { woken.withLock { $0.append(3) } } == 0)
        #expect(budget.probe(for: 2, footprint: 0) {} == .unbudgeted)
        #expect(woken.withLock { $0 } == [3])
        budget.report(1, footprint: 0)
        #expect(budget.allowance(for: 3, wanted: 4) {} == 4)
    }

    /// With strict tiers, a tier probes only while no better tier has work or waits.
    @Test func aStrictTierProbesOnceTheBetterTiersRanDry() {
        let budget = SlotBudget(total: 2, mode: .strict)
        let woken = Mutex<[UInt64]>([])
        budget.setStanding(.init(rank: 0), for: 1)
        budget.setStanding(.init(rank: 1), for: 2)
        budget.setBusy(1, true)
        #expect(budget.probe(for: 2, footprint: 0) { woken.withLock { $0.append(2) } } == .refused)
        // Tier 1's first probe wakes tier 2 (which still waits: tier 1 has work).
        #expect(budget.probe(for: 1, footprint: 0) {} == .budgeted)
        budget.report(1, footprint: 0)
        budget.setBusy(1, false)
        #expect(woken.withLock { $0 } == [2, 2, 2])
        #expect(budget.probe(for: 2, footprint: 0) {} == .budgeted)
        // Tier 1 has work again and waits for a second slot: tier 2's probe lets its slot go at once.
        #expect(budget.probeRelease(for: 2) == .keep)
        #expect(budget.allowance(for: 1, wanted: 2) {} == 1)
        #expect(budget.probeRelease(for: 2) == .now)
    }

    /// At the start, a strict tier probes only once every better tier probed: the first tier's probe goes first.
    @Test func aStrictTierWaitsForTheBetterTiersFirstProbe() {
        let budget = SlotBudget(total: 1, mode: .strict)
        let woken = Mutex<[UInt64]>([])
        budget.setStanding(.init(rank: 0), for: 1)
        budget.setStanding(.init(rank: 1), for: 2)
        #expect(budget.probe(for: 2, footprint: 0) { woken.withLock { $0.append(2) } } == .refused)
        #expect(budget.probe(for: 1, footprint: 0) {} == .budgeted)
        #expect(woken.withLock { $0 } == [2])
        #expect(budget.probe(for: 2, footprint: 0) {} == .unbudgeted)
    }

    @Test func contendedSlotsAreSharedByWeight() {
        // Tiers 6/3/1 over 100 slots, all waiting: 60, 30 and 10.
        let standings: [UInt64: SlotBudget.Standing] = [1: .init(weight: 6), 2: .init(weight: 3), 3: .init(weight: 1)]
        func allowance(_ id: UInt64, usage: [UInt64: Int]) -> Int {
            SlotBudget.decide(
                total: 100, usage: usage, waiting: [1, 2, 3], standings: standings, for: id, wanted: 100)
        }
        #expect(allowance(1, usage: [:]) == 60)
        #expect(allowance(2, usage: [1: 60]) == 30)
        #expect(allowance(3, usage: [1: 60, 2: 30]) == 10)
        // Above its share, a tier gets nothing more; below it, up to its share of what is free.
        #expect(allowance(3, usage: [1: 50, 2: 30, 3: 10]) == 0)
        #expect(allowance(1, usage: [1: 50, 2: 30, 3: 10]) == 10)
        // Weighted tiers count a tier with work among the contenders even while it waits for nothing.
        #expect(
            SlotBudget.decide(
                total: 100, usage: [1: 60, 2: 29], waiting: [3], standings: standings, busy: [1, 2], mode: .weighted,
                for: 3, wanted: 100) == 10)
        #expect(
            SlotBudget.decide(
                total: 100, usage: [1: 60, 2: 29], waiting: [3], standings: standings, busy: [1, 2], for: 3,
                wanted: 100) == 11)
        // Alone, a tier may take every free slot.
        #expect(
            SlotBudget.decide(total: 100, usage: [:], waiting: [], standings: standings, for: 3, wanted: 100) == 100)
    }

    @Test func aStrictBudgetServesTheBestRankedWaitingProcessorFirst() {
        let standings: [UInt64: SlotBudget.Standing] = [1: .init(rank: 0), 2: .init(rank: 1), 3: .init(rank: 2)]
        func allowance(_ id: UInt64, waiting: Set<UInt64>) -> Int {
            SlotBudget.decide(
                total: 10, usage: [1: 2], waiting: waiting, standings: standings, mode: .strict, for: id, wanted: 10)
        }
        #expect(allowance(2, waiting: [1, 2, 3]) == 0)
        #expect(allowance(3, waiting: [2, 3]) == 0)
        #expect(allowance(2, waiting: [2, 3]) == 8)
        #expect(allowance(1, waiting: [1, 2, 3]) == 8)
        // A better tier with work blocks the later ones even while its own requests are served.
        #expect(
            SlotBudget.decide(
                total: 10, usage: [1: 2], waiting: [3], standings: standings, busy: [1], mode: .strict, for: 3,
                wanted: 10) == 0)
    }
}
