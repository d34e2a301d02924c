import Testing

@testable import Protoqueue

/// When a processor pulls, for how many tasks, and what happens to deliveries, without a server.
@Suite("Fetch state")
struct FetchStateTests {
    private let ms: UInt64 = 1_000_000
    /// Eight slots, 500 ms requests.
    private func state() -> FetchState<Int> { FetchState(concurrency: 8, expiry: 500 * ms) }

    /// Turns at `now` and records the pull it asks for as sent.
    private func pullNow(_ state: inout FetchState<Int>, at now: UInt64) -> Int? {
        let turn = state.turn(now: now)
        if let count = turn.pull { state.pulled(count, expires: turn.expires, at: now) }
        return turn.pull
    }

    @Test func aNewProcessorPullsForEverySlot() {
        var fetch = state()
        #expect(pullNow(&fetch, at: 1000 * ms) == 8)
        #expect(fetch.ledger.outstanding == 8)
        // Nothing more to ask for while the request is open.
        #expect(pullNow(&fetch, at: 1001 * ms) == nil)
    }

    @Test func deliveriesTakeSlotsAndOnesBeyondThemAreParkedUntilSlotsAreReleased() {
        var fetch = FetchState<Int>(concurrency: 2, expiry: 500 * ms)
        _ = pullNow(&fetch, at: 0)
        #expect(fetch.arrived(1) == (.admitted, true))
        #expect(fetch.arrived(2) == (.admitted, true))
        // A delivery for a request already given up: no slot left.
        #expect(fetch.arrived(3) == (.parked, false))
        #expect(fetch.release(1) == [3])
        #expect(fetch.free == 0)
        #expect(fetch.release(2) == [])
        #expect(fetch.free == 2)
    }

    /// With a shared budget that has no slot for it, a delivery no request asked for waits beside free slots; a
    /// released slot or the budget's allowance lets in only as many as it counts.
    @Test func aDeliveryRefusedASlotWaitsUntilASlotIsReleasedOrAllowed() {
        var fetch = FetchState<Int>(concurrency: 4, expiry: 500 * ms)
        #expect(fetch.arrived(1) == (.admitted, false))
        #expect(fetch.arrived(2, admit: false) == (.parked, false))
        #expect(fetch.arrived(3, admit: false) == (.parked, false))
        #expect(fetch.free == 3)
        #expect(fetch.release(1) == [2])
        #expect(fetch.free == 3)
        #expect(fetch.admitParked(upTo: 0) == [])
        #expect(fetch.admitParked(upTo: 5) == [3])
        #expect(fetch.free == 2)
        #expect(fetch.parked.isEmpty)
    }

    @Test func whileARequestIsOpenItPullsOnlyForHalfTheSlotsOrMore() {
        var fetch = state()
        _ = pullNow(&fetch, at: 0)
        for delivery in 0..<8 { _ = fetch.arrived(delivery) }
        fetch.requestEnded(number: nil)  // nothing is open now; all 8 slots held
        _ = fetch.release(3)
        // No request open and 3 of 8 free (under half): wait up to 2 ms for more.
        let first = fetch.turn(now: 10 * ms)
        #expect(first.pull == nil)
        #expect(first.deadline == 10 * ms + FetchState<Int>.lowWaterWait)
        _ = fetch.release(1)
        #expect(pullNow(&fetch, at: 10 * ms + 1) == 4)
        _ = fetch.release(2)
        // A request is open: 2 more free is under half, so no pull yet.
        #expect(pullNow(&fetch, at: 11 * ms) == nil)
        _ = fetch.release(2)
        #expect(pullNow(&fetch, at: 12 * ms) == 4)
    }

    @Test func withFewSlotsFreeAndNoRequestOpenItPullsAfterTheShortWait() {
        var fetch = state()
        _ = pullNow(&fetch, at: 0)
        for delivery in 0..<8 { _ = fetch.arrived(delivery) }
        _ = fetch.release(1)
        #expect(pullNow(&fetch, at: 5 * ms) == nil)
        // A turn with a clock reading taken earlier on another thread: still waiting, and no arithmetic trap.
        #expect(pullNow(&fetch, at: 4 * ms) == nil)
        #expect(pullNow(&fetch, at: 5 * ms + FetchState<Int>.lowWaterWait) == 1)
    }

    @Test func aRequestWhoseStatusNeverCameIsGivenUpHalfAnExpiryAfterIt() {
        var fetch = state()
        _ = pullNow(&fetch, at: 0)
        let expiresAt = fetch.ledger.oldestExpiry!
        _ = fetch.turn(now: expiresAt + fetch.expiryGrace - 1)
        #expect(fetch.ledger.oldestExpiry == expiresAt)
        _ = fetch.turn(now: expiresAt + fetch.expiryGrace + 1)
        #expect(fetch.ledger.isEmpty)
    }

    @Test func theLastOpenRequestIsRenewedBeforeItExpires() {
        var fetch = state()
        _ = pullNow(&fetch, at: 0)
        let expiresAt = fetch.ledger.oldestExpiry!
        #expect(fetch.renewal == 125 * ms)
        // The turn before asks to be woken at the renewal time.
        let before = fetch.turn(now: expiresAt - fetch.renewal - 1)
        #expect(before.pull == nil && before.deadline == expiresAt - fetch.renewal)
        // From then on the open request counts as ended: every slot is asked for again, on the next aligned expiry.
        #expect(fetch.wakeTime(at: 0) == expiresAt - fetch.renewal)
        #expect(pullNow(&fetch, at: expiresAt - fetch.renewal) == 8)
        #expect(fetch.ledger.latestOpenExpiry == expiresAt + 500 * ms)
        #expect(fetch.ledger.outstanding == 16)
        // The new request is live long after: no more pulls, and the old one still takes the next deliveries.
        #expect(pullNow(&fetch, at: expiresAt - fetch.renewal + 1) == nil)
        #expect(fetch.arrived(1) == (.admitted, true))
        fetch.requestEnded(number: 1)
        #expect(fetch.ledger.outstanding == 8)
        #expect(pullNow(&fetch, at: expiresAt + 1) == nil)
    }

    @Test func aRenewalAsksForTheFreeSlotsAndTheTasksStillAskedFor() {
        var fetch = state()
        _ = pullNow(&fetch, at: 0)
        for delivery in 0..<6 { _ = fetch.arrived(delivery) }
        let expiresAt = fetch.ledger.oldestExpiry!
        // Two slots free, two tasks still asked for: nothing to pull until the renewal time.
        #expect(pullNow(&fetch, at: expiresAt - fetch.renewal - 1) == nil)
        #expect(pullNow(&fetch, at: expiresAt - fetch.renewal) == 2)
    }

    @Test func theRenewalTimeIsAQuarterOfAnExpiryBetweenOneAndTwoHundredFiftyMilliseconds() {
        #expect(FetchState<Int>(concurrency: 1, expiry: 2 * ms).renewal == 1 * ms)
        #expect(FetchState<Int>(concurrency: 1, expiry: 10 * ms).renewal == 2_500_000)
        #expect(FetchState<Int>(concurrency: 1, expiry: 200 * ms).renewal == 50 * ms)
        #expect(FetchState<Int>(concurrency: 1, expiry: 500 * ms).renewal == 125 * ms)
        #expect(FetchState<Int>(concurrency: 1, expiry: 5_000 * ms).renewal == 250 * ms)
    }

    /// From the shortest fetch timeout a worker accepts (10 ms) up, a renewal sent at its time expires one expiry
    /// after the request it renews, not with it.
    @Test(arguments: [10, 200, 500, 1_000, 30_000] as [UInt64])
    func aRenewalExpiresOneExpiryAfterTheRequestItRenews(milliseconds: UInt64) {
        let fetch = FetchState<Int>(concurrency: 1, expiry: milliseconds * ms)
        let expiresAt = 7 * fetch.expiry
        let sentAt = expiresAt - fetch.renewal
        #expect(sentAt + fetch.alignedExpiry(at: sentAt) == expiresAt + fetch.expiry)
    }

    @Test func expiriesAreAlignedBetweenHalfAndOneAndAHalfFetchTimeouts() {
        let fetch = state()
        for now in stride(from: UInt64(0), to: 2000 * ms, by: Int(37 * ms)) {
            let expires = fetch.alignedExpiry(at: now)
            #expect(expires >= 250 * ms && expires < 750 * ms, "at \(now / ms) ms: \(expires / ms) ms")
            #expect((now + expires) % (500 * ms) == 0)
        }
    }

    @Test func stoppingEndsFetchingOnceTheServerEndedTheOpenRequestsAndRefusesLaterDeliveries() {
        var fetch = state()
        _ = pullNow(&fetch, at: 0)
        fetch.stop()
        let expiresAt = fetch.ledger.oldestExpiry!
        let givenUpAt = expiresAt + fetch.expiryGrace
        // No pull while stopping; the open request may still deliver until the server ends it.
        #expect(fetch.turn(now: expiresAt + 1) == FetchState<Int>.Turn(deadline: givenUpAt))
        #expect(fetch.arrived(1) == (.admitted, true))
        fetch.requestEnded(number: 1)  // the server's 408
        #expect(fetch.turn(now: expiresAt + 2).fetchEnded)
        #expect(fetch.fetchDone)
        #expect(fetch.arrived(2) == (.refused, false))
        #expect(fetch.turn(now: expiresAt + 3) == FetchState<Int>.Turn())
    }

    @Test func stoppingGivesALostRequestUpAfterItsGrace() {
        var fetch = state()
        _ = pullNow(&fetch, at: 0)
        fetch.stop()
        let givenUpAt = fetch.ledger.oldestExpiry! + fetch.expiryGrace
        #expect(!fetch.turn(now: givenUpAt).fetchEnded)
        #expect(fetch.turn(now: givenUpAt + 1).fetchEnded)
    }

    @Test func failedPullsBackOffFrom100MillisecondsTo2Seconds() {
        var fetch = state()
        var waits: [UInt64] = []
        for _ in 0..<8 { waits.append(fetch.pullFailed(at: 0).retryAt / ms) }
        #expect(waits == [100, 200, 400, 800, 1600, 2000, 2000, 2000])
        #expect(fetch.turn(now: 1999 * ms).pull == nil)
        #expect(pullNow(&fetch, at: 2000 * ms) == 8)
        // A sent pull resets the count.
        #expect(fetch.pullFailed(at: 0).failures == 1)
    }

    /// A look at the consumer that could not conclude is repeated from a turn, 100 ms later and doubling up to 5 s,
    /// until one concludes.
    @Test func anInconclusiveLookAtTheConsumerIsRepeatedFromATurn() {
        var fetch = state()
        var waits: [UInt64] = []
        for looks in 1...8 {
            #expect(fetch.consumerCheckInconclusive(at: 0) == looks)
            waits.append(fetch.consumerCheckAt! / ms)
        }
        #expect(waits == [100, 200, 400, 800, 1600, 3200, 5000, 5000])
        // Before it is due, a turn wakes for it; when due, the turn asks for it once.
        let early = fetch.turn(now: 4999 * ms)
        #expect(!early.checkConsumer && early.deadline == 5000 * ms)
        #expect(fetch.turn(now: 5000 * ms).checkConsumer)
        #expect(!fetch.turn(now: 5001 * ms).checkConsumer && fetch.consumerCheckAt == nil)
        // A sent pull does not reset the count; a look that concludes does, and cancels one due.
        _ = pullNow(&fetch, at: 5002 * ms)
        #expect(fetch.consumerCheckInconclusive(at: 0) == 9)
        fetch.consumerCheckConcluded()
        #expect(fetch.consumerCheckAt == nil)
        #expect(fetch.consumerCheckInconclusive(at: 0) == 1)
    }

    @Test func parkedDeliveriesAreDrainedOnce() {
        var fetch = FetchState<Int>(concurrency: 1, expiry: 500 * ms)
        _ = fetch.arrived(1)
        _ = fetch.arrived(2)
        #expect(fetch.drainParked() == [2])
        #expect(fetch.drainParked() == [])
    }

    @Test func theGraceIsHalfAnExpiryBetween20MillisecondsAnd1Second() {
        #expect(FetchState<Int>(concurrency: 1, expiry: 500 * ms).expiryGrace == 250 * ms)
        #expect(FetchState<Int>(concurrency: 1, expiry: 10 * ms).expiryGrace == 20 * ms)
        #expect(FetchState<Int>(concurrency: 1, expiry: 30_000 * ms).expiryGrace == 1000 * ms)
    }
}
