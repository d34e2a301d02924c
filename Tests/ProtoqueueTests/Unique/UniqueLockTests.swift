import Foundation
import Testing

@testable import Protoqueue

/// `UniqueLock`: the key's subject token, the lock's headers, when a lock holds, and when a worker frees a key.
@Suite("Unique-key locks")
struct UniqueLockTests {
    @Test func aLockIsFreshForOneSecondWhileItsTaskMayStillBeOnItsWay() {
        let lock = UniqueLock(key: "k", scope: .untilStarted, taskID: "t", lockedAt: 10_000)
        #expect(lock.isFresh(now: 10_000))
        #expect(lock.isFresh(now: 10_999))
        #expect(!lock.isFresh(now: 11_000))
        #expect(!lock.isFresh(now: 50_000))
    }

    @Test func theTokenIsUnpaddedBase64URLOfTheKey() {
        #expect(UniqueLock.token("a") == "YQ")
        #expect(UniqueLock.token("sync-42") == "c3luYy00Mg")
        #expect(UniqueLock.token("ü?>") == "w7w_Pg")
        #expect(UniqueLock.token("\u{FB}\u{FF}") == "w7vDvw")
    }

    @Test func aLockWritesItsKeyScopeHolderAndCondition() {
        let lock = UniqueLock(key: "sync-42", scope: .for(.seconds(2)), taskID: "t-1", lockedAt: 1_000)
        #expect(
            lock.headers(expectingLast: 5).map { "\($0.0): \($0.1)" } == [
                "Nats-Msg-Id: unique:c3luYy00Mg:t-1", "Protoqueue-Unique-Key: sync-42",
                "Protoqueue-Unique-Scope: for:2000", "Protoqueue-Task-Id: t-1", "Protoqueue-Unique-Locked-At: 1000",
                "Nats-Expected-Last-Subject-Sequence: 5",
            ])
    }

    @Test(arguments: [
        // (scope, now - lockedAt, task in the stream, holds, depends on the task)
        (Uniqueness.Scope.for(.seconds(2)), Int64(1_999), false, true, false),
        (Uniqueness.Scope.for(.seconds(2)), Int64(2_000), true, false, false),
        (Uniqueness.Scope.untilFinished, Int64(29_999), false, true, false),
        (Uniqueness.Scope.untilFinished, Int64(30_000), false, false, true),
        (Uniqueness.Scope.untilFinished, Int64(900_000), true, true, true),
        (Uniqueness.Scope.untilStarted, Int64(30_000), true, true, true),
        (Uniqueness.Scope.untilStarted, Int64(30_000), false, false, true),
    ])
    func aLockHoldsForItsDurationOrWhileItsTaskIsThere(
        scope: Uniqueness.Scope, age: Int64, taskExists: Bool, holds: Bool, depends: Bool
    ) {
        let lock = UniqueLock(key: "k", scope: scope, taskID: "t", lockedAt: 10_000)
        #expect(lock.holds(now: 10_000 + age, taskExists: taskExists) == holds)
        #expect(lock.dependsOnTask(now: 10_000 + age) == depends)
    }

    @Test func aWorkerFreesAKeyAtStartOrOnceTheTaskIsFinished() {
        #expect(UniqueLock.frees(.untilStarted, atStart: true))
        #expect(!UniqueLock.frees(.untilStarted, atStart: false, settlement: .ack))
        #expect(!UniqueLock.frees(.untilFinished, atStart: true))
        for final in [Settlement.ack, .deadLetter(reason: .failed, error: "x", details: [:]), .discard(reason: "x")] {
            #expect(UniqueLock.frees(.untilFinished, atStart: false, settlement: final))
        }
        for retry in [Settlement.nak(delay: .seconds(1)), .reschedule(delay: .seconds(5))] {
            #expect(!UniqueLock.frees(.untilFinished, atStart: false, settlement: retry))
        }
        #expect(!UniqueLock.frees(.for(.seconds(1)), atStart: false, settlement: .ack))
        #expect(!UniqueLock.frees(nil, atStart: true))
    }

    @Test func scopesReadBackFromTheirHeader() {
        for scope in [Uniqueness.Scope.untilStarted, .untilFinished, .for(.milliseconds(1500))] {
            #expect(Uniqueness.Scope(header: scope.description) == scope)
        }
        for bad in ["for:0", "for:x", "always", ""] { #expect(Uniqueness.Scope(header: bad) == nil) }
    }
}
