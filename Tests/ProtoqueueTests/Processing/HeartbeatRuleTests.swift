import Testing

@testable import Protoqueue

/// The ack-window, heartbeat, timeout and token-bucket rules of a running task, as tables.
@Suite("Heartbeat and limit rules")
struct HeartbeatRuleTests {
    @Test func theAckWindowIsTheAckWaitOrTheBackoffStepOfTheDelivery() {
        #expect(AckWindow.length(ackWait: .seconds(30), backoff: [], deliveries: 1) == .seconds(30))
        #expect(AckWindow.length(ackWait: .seconds(30), backoff: [], deliveries: 9) == .seconds(30))
        let backoff: [Duration] = [.seconds(1), .seconds(5), .seconds(20)]
        let expected: [UInt64: Duration] = [
            0: .seconds(1), 1: .seconds(1), 2: .seconds(5), 3: .seconds(20), 7: .seconds(20),
        ]
        for (deliveries, window) in expected {
            #expect(AckWindow.length(ackWait: .seconds(30), backoff: backoff, deliveries: deliveries) == window)
        }
        #expect(AckWindow.shortest(ackWait: .seconds(30), backoff: []) == .seconds(30))
        #expect(AckWindow.shortest(ackWait: .seconds(30), backoff: [.seconds(4), .seconds(2)]) == .seconds(2))
    }

    @Test func heartbeatsGoOutAfterAThirdOfTheWindowAndTheMonitorLooksTwiceAsOften() {
        #expect(AckWindow.heartbeatInterval(window: .seconds(30)) == .seconds(10))
        #expect(AckWindow.checkInterval(shortest: .seconds(30)) == .seconds(5))
        #expect(AckWindow.checkInterval(shortest: .milliseconds(60)) == .milliseconds(20))
        #expect(AckWindow.isMissed(elapsed: .seconds(31), window: .seconds(30)))
        #expect(!AckWindow.isMissed(elapsed: .seconds(30), window: .seconds(30)))
    }

    @Test func theMonitorBeatsUntilTheTimeoutThenReportsAStuckHandlerOnce() {
        let second: UInt64 = 1_000_000_000
        func action(
            now: UInt64, since: UInt64, stopAt: UInt64? = nil, reported: Bool = false
        ) -> HeartbeatMonitor.Action {
            HeartbeatMonitor.action(
                now: now, sinceSignal: since, heartbeatAfter: 10 * second, stopAt: stopAt, reported: reported)
        }
        #expect(action(now: 100 * second, since: 9 * second) == .none)
        #expect(action(now: 100 * second, since: 10 * second) == .heartbeat)
        #expect(action(now: 100 * second, since: 10 * second, stopAt: 101 * second) == .heartbeat)
        // Past the timeout: no heartbeat; reported once the grace of a second has passed, and only once.
        #expect(action(now: 100 * second, since: 20 * second, stopAt: 100 * second) == .none)
        #expect(action(now: 101 * second, since: 20 * second, stopAt: 100 * second) == .reportStuck)
        #expect(action(now: 105 * second, since: 20 * second, stopAt: 100 * second, reported: true) == .none)
    }

    @Test func timeoutsAreWholeMillisecondsAndTheTasksOwnWins() throws {
        #expect(try TaskTimeout.milliseconds(.milliseconds(1500)) == 1500)
        #expect(try TaskTimeout.milliseconds(.microseconds(1)) == 1)
        for bad: Duration in [.zero, .seconds(-1), .seconds(365 * 24 * 3600 + 1)] {
            #expect(throws: ProtoqueueError.self) { try TaskTimeout.milliseconds(bad) }
        }
        #expect(TaskTimeout.parse("250") == .milliseconds(250))
        #expect(TaskTimeout.parse("0") == nil)
        #expect(TaskTimeout.effective(task: .seconds(1), queueDefault: .seconds(9)) == .seconds(1))
        #expect(TaskTimeout.effective(task: nil, queueDefault: .seconds(9)) == .seconds(9))
        #expect(TaskTimeout.effective(task: nil, queueDefault: nil) == nil)
    }

    @Test func theTokenBucketSpacesStartsAtTheRateAfterItsBurst() {
        let second: UInt64 = 1_000_000_000
        var bucket = TokenBucket(.perSecond(10, burst: 3), now: 0)
        // The burst goes at once; then each start waits 100 ms behind the one before.
        #expect((0..<3).map { _ in bucket.take(now: 0) } == [0, 0, 0])
        #expect(bucket.take(now: 0) == second / 10)
        #expect(bucket.take(now: 0) == 2 * second / 10)
        // Idle for a long time: never more than the burst piles up.
        var idle = TokenBucket(.perSecond(10, burst: 3), now: 0)
        #expect(idle.take(now: 3600 * second) == 0)
        #expect(idle.take(now: 3600 * second) == 0)
        #expect(idle.take(now: 3600 * second) == 0)
        #expect(idle.take(now: 3600 * second) == second / 10)
        // A steady caller at the rate never waits.
        var steady = TokenBucket(.perMinute(60), now: 0)
        #expect((0..<100).allSatisfy { steady.take(now: UInt64($0) * second) == 0 })
    }

    @Test func rateLimitsOutOfRangeAreRefused() {
        for limit in [RateLimit.perSecond(0), .perSecond(-1), .perSecond(.infinity), .perSecond(5, burst: 0)] {
            #expect(throws: ProtoqueueError.self) {
                _ = try ProcessOptions(rateLimit: limit).validated()
            }
        }
        #expect(throws: Never.self) { _ = try ProcessOptions(rateLimit: .perMinute(1)).validated() }
    }
}
