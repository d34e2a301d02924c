import Foundation
import Testing

@testable import Protoqueue

/// `TickPlan`: what a schedule's runner does next, for every case, and the ticks of interval timings.
@Suite("Tick plans")
struct TickPlanTests {
    static let every10s = ScheduleTiming.every(.seconds(10))

    @Test(arguments: [
        // (last tick, now, plan)
        (Int64(100_000), Int64(105_000), TickPlan.wait(until: 110_000)),
        (Int64(100_000), Int64(110_000), TickPlan.fire(tick: 110_000)),
        (Int64(100_000), Int64(112_000), TickPlan.fire(tick: 110_000)),
        (Int64(100_000), Int64(113_000), TickPlan.missed(latest: 110_000, count: 1)),
        (Int64(100_000), Int64(141_000), TickPlan.missed(latest: 130_000, count: 3)),
        (Int64(100_000), Int64(142_000), TickPlan.missed(latest: 130_000, count: 3)),
        (Int64(100_000), Int64(143_000), TickPlan.missed(latest: 140_000, count: 4)),
        (Int64(104_321), Int64(105_000), TickPlan.wait(until: 110_000)),
    ])
    func thePlanFollowsTheLatenessBound(lastTick: Int64, now: Int64, plan: TickPlan) {
        #expect(TickPlan.next(timing: Self.every10s, lastTick: lastTick, now: now, latenessBound: 2_000) == plan)
    }

    @Test func aLongOutageIsCountedUpToTheLimitAndGoesOnFromThere() {
        let everySecond = ScheduleTiming.every(.seconds(1))
        let plan = TickPlan.next(timing: everySecond, lastTick: 0, now: 200_000_000, latenessBound: 60_000)
        #expect(plan == .missed(latest: Int64(TickPlan.countLimit) * 1000, count: TickPlan.countLimit))
    }

    @Test func intervalTicksAreMultiplesSinceTheEpoch() {
        let hourly = ScheduleTiming.every(.seconds(3600))
        #expect(hourly.nextTick(after: 0) == 3_600_000)
        #expect(hourly.nextTick(after: 3_599_999) == 3_600_000)
        #expect(hourly.nextTick(after: 3_600_000) == 7_200_000)
        #expect(hourly.nextTick(after: -1) == 0)
        #expect(hourly.description == "every 3600s")
    }

    @Test func cronTicksReadTheirZone() throws {
        let amsterdam = try #require(TimeZone(identifier: "Europe/Amsterdam"))
        let timing = ScheduleTiming.cron(try CronExpression("0 0 3 * * *"), in: amsterdam)
        // 2026-12-05T00:00:00Z → 03:00 CET is 02:00 UTC.
        #expect(timing.nextTick(after: 1_796_428_800_000) == 1_796_436_000_000)
        #expect(timing.description == "cron 0 0 3 * * *")
    }

    @Test func aTimingReadsBackFromItsHeaders() throws {
        let amsterdam = try #require(TimeZone(identifier: "Europe/Amsterdam"))
        let cron = ScheduleTiming.cron(try CronExpression("*/5 * * * * *"), in: amsterdam)
        #expect(ScheduleTiming(timing: cron.description, timeZone: "Europe/Amsterdam") == cron)
        #expect(ScheduleTiming(timing: "every 30s", timeZone: nil) == .every(.seconds(30)))
        for bad in ["every 0s", "every 1.5s", "every s", "cron 61 * * * * *", "weekly"] {
            #expect(ScheduleTiming(timing: bad, timeZone: nil) == nil, "\(bad)")
        }
        #expect(ScheduleTiming(timing: "cron * * * * * *", timeZone: "Mars/Olympus") == nil)
    }
}
