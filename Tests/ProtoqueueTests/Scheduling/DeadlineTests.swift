import Foundation
import Testing

@testable import Protoqueue

/// The "must start by" rule (`Deadline`): which deliveries expire, and which deadlines a producer may set.
@Suite("Deadlines")
struct DeadlineTests {
    @Test(arguments: [
        // (startBy, attempt, now, expires)
        (Int64?.none, 1, Int64(5_000), false),
        (Int64?(5_000), 1, Int64(4_999), false),
        (Int64?(5_000), 1, Int64(5_000), false),
        (Int64?(5_000), 1, Int64(5_001), true),
        (Int64?(5_000), 2, Int64(9_000), false),
        (Int64?(5_000), 7, Int64(9_000), false),
    ])
    func onlyAFirstAttemptAfterTheDeadlineExpires(startBy: Int64?, attempt: Int, now: Int64, expires: Bool) {
        let expiry = Deadline.expiry(startBy: startBy, attempt: attempt, now: now)
        #expect((expiry != nil) == expires)
        if let expiry, let startBy {
            #expect(
                expiry
                    == "the task had to start by \(startBy) ms (Unix time); its first attempt was delivered "
                    + "\(now - startBy) ms later")
        }
    }

    @Test func theHeaderValueIsUnixMillisecondsRoundedDown() throws {
        #expect(try Deadline.milliseconds(Date(timeIntervalSince1970: 1_795_358_701.1239)) == 1_795_358_701_123)
        for bad in [Date(timeIntervalSince1970: -1), Date(timeIntervalSince1970: 253_402_300_800)] {
            #expect(throws: ProtoqueueError.self) { try Deadline.milliseconds(bad) }
        }
    }

    @Test func aDeadlineBeforeTheEarliestStartIsRefused() throws {
        try Deadline.check(startBy: 5_000, due: nil)
        try Deadline.check(startBy: 5_000, due: 5_000)
        do throws(ProtoqueueError) {
            try Deadline.check(startBy: 4_999, due: 5_000)
            Issue.record("a deadline before the start was accepted")
        } catch {
            #expect(error.code == .invalidHeader)
            #expect(error.message == "startBy (4999 ms) is before notBefore (5000 ms): the task could never start")
        }
    }
}
