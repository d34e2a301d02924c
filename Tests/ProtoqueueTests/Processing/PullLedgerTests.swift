import Testing

@testable import Protoqueue

/// The processor's count of tasks it asked the server for and has not received, over several open pull requests.
@Suite("Pull request ledger")
struct PullLedgerTests {
    @Test func deliveriesFillTheOldestRequestFirst() {
        var ledger = PullLedger()
        ledger.requested(2, expiresAt: 100)
        ledger.requested(3, expiresAt: 200)
        #expect(ledger.outstanding == 5)
        let first = ledger.delivered()
        let second = ledger.delivered()
        #expect(first && second)
        // The first request is complete: a status now ends the second one, with its 3 undelivered tasks.
        ledger.endOldest()
        #expect(ledger.outstanding == 0)
        #expect(ledger.isEmpty)
    }

    /// A probe sent on no slot of a shared budget: its tasks are counted apart, whether delivered, ended or given up.
    @Test func tasksAskedForOnNoSlotOfTheBudgetAreCountedApart() {
        var ledger = PullLedger()
        #expect(!ledger.nextIsBudgeted)
        ledger.requested(1, expiresAt: 100, number: 1, budgeted: false)
        ledger.requested(2, expiresAt: 200, number: 2)
        ledger.requested(3, expiresAt: 300, number: 3, budgeted: false)
        #expect(ledger.outstanding == 6 && ledger.unbudgeted == 4)
        #expect(!ledger.nextIsBudgeted)
        _ = ledger.delivered()
        #expect(ledger.outstanding == 5 && ledger.unbudgeted == 3)
        #expect(ledger.nextIsBudgeted)
        ledger.end(number: 3)
        #expect(ledger.outstanding == 2 && ledger.unbudgeted == 0)
        ledger.unbudgetAll()
        #expect(ledger.outstanding == 2 && ledger.unbudgeted == 2 && !ledger.nextIsBudgeted)
        ledger.expire(before: 250)
        #expect(ledger.outstanding == 0 && ledger.isEmpty)
    }

    @Test func aStatusEndsOnlyTheOldestOpenRequest() {
        var ledger = PullLedger()
        ledger.requested(4, expiresAt: 100)
        ledger.requested(4, expiresAt: 200)
        let beforeStatus = ledger.delivered()
        ledger.endOldest()  // the first request expired with 3 undelivered
        #expect(beforeStatus && ledger.outstanding == 4)
        let afterStatus = ledger.delivered()
        #expect(afterStatus && ledger.outstanding == 3)
        #expect(!ledger.isEmpty)
    }

    @Test func requestsPastTheirExpiryAreGivenUpInOrder() {
        var ledger = PullLedger()
        ledger.requested(1, expiresAt: 100)
        ledger.requested(2, expiresAt: 200)
        ledger.requested(3, expiresAt: 300)
        ledger.expire(before: 50)
        #expect(ledger.outstanding == 6)
        ledger.expire(before: 250)
        #expect(ledger.outstanding == 3)
        ledger.expire(before: 301)
        #expect(ledger.isEmpty && ledger.outstanding == 0)
    }

    @Test func aDeliveryForAGivenUpRequestIsReportedAndCountsNothing() {
        var ledger = PullLedger()
        let withNoRequest = ledger.delivered()
        ledger.requested(1, expiresAt: 10)
        ledger.expire(before: 11)
        let afterExpiry = ledger.delivered()
        #expect(!withNoRequest && !afterExpiry)
        #expect(ledger.outstanding == 0)
        // It came before the latest expiry of any request sent: its ack window started by then.
        #expect(ledger.oldestExpiry == nil && ledger.latestExpiry == 10)
        ledger.endOldest()  // nothing open: no effect
        #expect(ledger.outstanding == 0)
        // The ledger keeps working after its storage was recycled.
        ledger.requested(2, expiresAt: 20)
        let recycled = ledger.delivered()
        #expect(recycled && ledger.outstanding == 1 && ledger.latestExpiry == 20)
    }

    @Test func aStatusEndsTheRequestItNamesEvenOutOfOrder() {
        var ledger = PullLedger()
        ledger.requested(2, expiresAt: 100, number: 1)
        ledger.requested(3, expiresAt: 200, number: 2)
        ledger.end(number: 2)
        #expect(ledger.outstanding == 2)
        #expect(ledger.oldestExpiry == 100)
        ledger.end(number: 1)
        #expect(ledger.isEmpty && ledger.outstanding == 0)
    }

    @Test func aLateStatusForARequestAlreadyGivenUpEndsNothingElse() {
        var ledger = PullLedger()
        ledger.requested(4, expiresAt: 100, number: 1)
        ledger.expire(before: 150)  // its 408 never came in time
        ledger.requested(4, expiresAt: 300, number: 2)
        ledger.end(number: 1)  // ... and comes now
        #expect(ledger.outstanding == 4)
        #expect(!ledger.isEmpty)
    }
}
