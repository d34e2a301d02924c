import Foundation
import Testing

@testable import Protoqueue

/// Cron expressions: the syntax, the errors, the day rule, and next ticks in UTC and around daylight-saving changes.
@Suite("Cron expressions")
struct CronExpressionTests {
    /// The set of `values` as a field bit set.
    private static func set(_ values: some Sequence<Int>) -> UInt64 {
        values.reduce(0) { $0 | 1 << UInt64($1) }
    }

    /// The instant an ISO 8601 string such as `2026-03-29T01:00:00Z` names.
    private static func instant(_ text: String) throws -> Date {
        try Date(text, strategy: .iso8601)
    }

    /// The first `count` ticks of `expression` after `start` in the zone `zone`, as ISO 8601 strings in UTC.
    private static func ticks(
        _ expression: String, after start: String, in zone: String = "UTC", count: Int = 1
    ) throws -> [String] {
        let cron = try CronExpression(expression)
        let timeZone = try #require(TimeZone(identifier: zone))
        var ticks: [String] = []
        var last = try instant(start)
        for _ in 0..<count {
            last = try #require(cron.nextTick(after: last, in: timeZone))
            ticks.append(last.formatted(.iso8601))
        }
        return ticks
    }

    // MARK: - Syntax

    /// (field index, field text, expected values).
    private static let fieldForms: [(Int, String, [Int])] = [
        (0, "*", Array(0...59)), (1, "5", [5]), (2, "1,5,23", [1, 5, 23]), (1, "10-12", [10, 11, 12]),
        (0, "*/15", [0, 15, 30, 45]), (1, "10-20/5", [10, 15, 20]), (1, "50/3", [50, 53, 56, 59]),
        (1, "1-3,7,*/20", [0, 1, 2, 3, 7, 20, 40]), (2, "*/1", Array(0...23)), (2, "00", [0]),
        (3, "*", Array(1...31)), (3, "?", Array(1...31)), (3, "*/10", [1, 11, 21, 31]), (3, "31", [31]),
        (4, "*", Array(1...12)), (4, "JAN", [1]), (4, "jan-Mar", [1, 2, 3]), (4, "*/3", [1, 4, 7, 10]),
        (4, "NOV/1", [11, 12]), (4, "dec,2", [2, 12]),
        (5, "*", Array(0...6)), (5, "?", Array(0...6)), (5, "7", [0]), (5, "0", [0]), (5, "5-7", [0, 5, 6]),
        (5, "MON-FRI", [1, 2, 3, 4, 5]), (5, "sun,Sat", [0, 6]), (5, "*/2", [0, 2, 4, 6]), (5, "1/2", [1, 3, 5]),
        (5, "SUN-SAT", Array(0...6)),
    ]

    @Test(arguments: fieldForms)
    func everyFieldFormParses(index: Int, text: String, values: [Int]) throws {
        var fields = ["*", "*", "*", "*", "*", "*"]
        fields[index] = text
        let cron = try CronExpression(fields.joined(separator: " "))
        let sets = [cron.seconds, cron.minutes, cron.hours, cron.daysOfMonth, cron.months, cron.daysOfWeek]
        #expect(sets[index] == Self.set(values))
    }

    @Test func fiveFieldsMeanSecondZero() throws {
        let cron = try CronExpression("30 9 * * MON-FRI")
        #expect(cron.seconds == Self.set([0]))
        #expect(cron.minutes == Self.set([30]))
        #expect(cron.hours == Self.set([9]))
        #expect(cron.daysOfWeek == Self.set(1...5))
        #expect(cron.description == "30 9 * * MON-FRI")
    }

    @Test(arguments: [
        ("@yearly", "0 0 0 1 1 *"), ("@annually", "0 0 0 1 1 *"), ("@monthly", "0 0 0 1 * *"),
        ("@weekly", "0 0 0 * * 0"), ("@daily", "0 0 0 * * *"), ("@midnight", "0 0 0 * * *"),
        ("@hourly", "0 0 * * * *"), ("@DAILY", "0 0 0 * * *"),
    ])
    func macrosStandForTheirExpressions(macro: String, expansion: String) throws {
        let cron = try CronExpression(macro)
        let expected = try CronExpression(expansion)
        #expect(cron.description == macro)
        #expect(
            [cron.seconds, cron.minutes, cron.hours, cron.daysOfMonth, cron.months, cron.daysOfWeek]
                == [
                    expected.seconds, expected.minutes, expected.hours, expected.daysOfMonth, expected.months,
                    expected.daysOfWeek,
                ])
        #expect(cron.eitherDayMatches == expected.eitherDayMatches)
    }

    @Test func theDescriptionIsTheExpressionWithSingleSpaces() throws {
        #expect(try CronExpression("  0   0\t12 * *  *\n").description == "0 0 12 * * *")
        #expect(try CronExpression(" @hourly ").description == "@hourly")
        #expect(try CronExpression("0  0 * * *") == CronExpression("0 0 * * *"))
        #expect(try CronExpression("0 0 * * *") != CronExpression("0 0 0 * * *"))
    }

    // MARK: - Errors

    /// The fields a wrong field count names.
    private static let fieldCount =
        "expected 5 or 6 fields (second minute hour day-of-month month day-of-week, the "
        + "second may be left out), found"
    /// The list an unknown macro names.
    private static let macroList = "use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"
    /// Why an expression that can never match is refused.
    private static let neverMatches = "never matches: no selected month has any of the selected days of the month"

    /// (expression, problem after `cron expression "…": `).
    private static let badExpressions: [(String, String)] = [
        ("0 61 * * * *", "minute \"61\" is outside 0-59"),
        ("60 * * * * *", "second \"60\" is outside 0-59"),
        ("0 0 24 * * *", "hour \"24\" is outside 0-23"),
        ("0 0 0 0 * *", "day-of-month \"0\" is outside 1-31"),
        ("0 0 0 * 13 *", "month \"13\" is outside 1-12"),
        ("0 0 0 * * 8", "day-of-week \"8\" is outside 0-7"),
        ("0 1-99 * * * *", "minute \"99\" is outside 0-59"),
        ("0 99999999999999999999 * * * *", "minute \"99999999999999999999\" is outside 0-59"),
        ("0 */0 * * * *", "minute \"*/0\" has a step of 0"),
        ("0 5/00 * * * *", "minute \"5/00\" has a step of 0"),
        ("0 */x * * * *", "minute \"*/x\" has a step \"x\" that is not a number"),
        ("0 */ * * * *", "minute \"*/\" has a step \"\" that is not a number"),
        ("0 1/2/3 * * * *", "minute \"1/2/3\" has more than one step"),
        ("0 0 5-2 * * *", "hour \"5-2\" is a reversed range"),
        ("0 0 0 * * FRI-MON", "day-of-week \"FRI-MON\" is a reversed range"),
        ("0 1-2-3 * * * *", "minute \"1-2-3\" is not a valid range"),
        ("0 -1 * * * *", "minute \"-1\" is not a valid range"),
        ("0 1,,2 * * * *", "minute \"1,,2\" has an empty list item"),
        ("0 1, * * * *", "minute \"1,\" has an empty list item"),
        ("0 0 0 * FOO *", "month \"FOO\" is not a number or a month name"),
        ("0 0 0 * * MONDAY", "day-of-week \"MONDAY\" is not a number or a day name"),
        ("x * * * * *", "second \"x\" is not a number"),
        ("0 0 ? * * *", "hour \"?\" uses \"?\", which only day-of-month and day-of-week allow"),
        ("0 0 0 1,? * *", "day-of-month \"1,?\" uses \"?\", which must stand alone"),
        ("", "\(fieldCount) 0"),
        ("1 2 3", "\(fieldCount) 3"),
        ("@daily *", "\(fieldCount) 2"),
        ("@foo", "unknown macro \"@foo\"; \(macroList)"),
        ("@every", "unknown macro \"@every\"; \(macroList)"),
        ("0 0 0 31 2 *", neverMatches),
        ("0 0 30,31 2 ?", neverMatches),
        ("0 0 0 31 4,6,9,11 *", neverMatches),
    ]

    @Test(arguments: badExpressions)
    func aBadExpressionIsRefusedNamingTheFieldAndPart(text: String, problem: String) {
        do throws(ProtoqueueError) {
            _ = try CronExpression(text)
            Issue.record("\"\(text)\" was accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
            let normalised = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(error.message == "cron expression \"\(normalised)\": \(problem)")
        }
    }

    @Test func aDayThatExistsInSomeSelectedMonthOrByWeekdayIsAccepted() throws {
        _ = try CronExpression("0 0 0 29 2 *")
        _ = try CronExpression("0 0 0 31 2,3 *")
        _ = try CronExpression("0 0 0 31 2 MON")
        _ = try CronExpression("0 0 0 ? 2 MON")
    }

    // MARK: - The day rule

    @Test func bothDayFieldsRestrictedMatchEitherDay() throws {
        // 2026-01-01 is a Thursday; January 13 is a Tuesday.
        let either = ["2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"]
        #expect(try Self.ticks("0 0 0 13 * FRI", after: "2026-01-01T00:00:00Z", count: 4) == either)
        #expect(try Self.ticks("0 0 13 * fri", after: "2026-01-01T00:00:00Z", count: 4) == either)
    }

    @Test func anUnrestrictedDayFieldLeavesTheOtherToDecide() throws {
        let fridays = ["2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z"]
        #expect(try Self.ticks("0 0 0 * * FRI", after: "2026-01-01T00:00:00Z", count: 2) == fridays)
        #expect(try Self.ticks("0 0 0 ? * 5", after: "2026-01-01T00:00:00Z", count: 2) == fridays)
        let thirteenths = ["2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z"]
        #expect(try Self.ticks("0 0 0 13 * ?", after: "2026-01-01T00:00:00Z", count: 2) == thirteenths)
        #expect(try Self.ticks("0 0 0 13 * *", after: "2026-01-01T00:00:00Z", count: 2) == thirteenths)
        // A field starting with `*` does not restrict the day either: Mondays on odd dates.
        let oddMondays = ["2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z"]
        #expect(try Self.ticks("0 0 0 */2 * MON", after: "2026-01-01T00:00:00Z", count: 3) == oddMondays)
    }

    // MARK: - Next ticks in UTC

    @Test func ticksInUTC() throws {
        #expect(
            try Self.ticks("* * * * * *", after: "2026-01-01T00:00:00Z", count: 2)
                == ["2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"])
        #expect(
            try Self.ticks("*/10 * * * * *", after: "2026-01-01T00:00:55Z", count: 2)
                == ["2026-01-01T00:01:00Z", "2026-01-01T00:01:10Z"])
        #expect(try Self.ticks("* * * * *", after: "2026-12-31T23:59:30Z") == ["2027-01-01T00:00:00Z"])
        #expect(
            try Self.ticks("@hourly", after: "2026-05-10T10:00:00Z", count: 2)
                == ["2026-05-10T11:00:00Z", "2026-05-10T12:00:00Z"])
        #expect(try Self.ticks("0 15 10 * * *", after: "2026-05-10T10:15:00Z") == ["2026-05-11T10:15:00Z"])
        #expect(try Self.ticks("@weekly", after: "2026-01-01T00:00:00Z") == ["2026-01-04T00:00:00Z"])
        #expect(try Self.ticks("0 0 0 * * 7", after: "2026-01-01T00:00:00Z") == ["2026-01-04T00:00:00Z"])
        #expect(try Self.ticks("@monthly", after: "2026-01-31T12:00:00Z") == ["2026-02-01T00:00:00Z"])
        #expect(try Self.ticks("@yearly", after: "2026-06-15T00:00:00Z") == ["2027-01-01T00:00:00Z"])
        #expect(try Self.ticks("0 0 0 1 JAN-MAR/2 *", after: "2026-01-01T00:00:00Z") == ["2026-03-01T00:00:00Z"])
    }

    @Test func ticksAreWholeSecondsStrictlyAfterTheInstant() throws {
        let cron = try CronExpression("* * * * * *")
        let utc = try #require(TimeZone(identifier: "UTC"))
        let start = try Self.instant("2026-01-01T12:00:00Z")
        #expect(cron.nextTick(after: start, in: utc) == start + 1)
        #expect(cron.nextTick(after: start + 0.25, in: utc) == start + 1)
        #expect(cron.nextTick(after: start - 0.25, in: utc) == start)
    }

    @Test func monthEndsSkipShortMonths() throws {
        #expect(
            try Self.ticks("0 0 12 31 * *", after: "2026-01-31T12:00:00Z", count: 3)
                == ["2026-03-31T12:00:00Z", "2026-05-31T12:00:00Z", "2026-07-31T12:00:00Z"])
        #expect(try Self.ticks("0 0 0 30 * *", after: "2026-01-30T00:00:00Z") == ["2026-03-30T00:00:00Z"])
    }

    @Test func februaryTwentyNinthWaitsForALeapYear() throws {
        #expect(
            try Self.ticks("0 0 0 29 2 *", after: "2026-01-01T00:00:00Z", count: 2)
                == ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"])
        // 2100 is not a leap year.
        #expect(try Self.ticks("0 0 0 29 2 *", after: "2096-03-01T00:00:00Z") == ["2104-02-29T00:00:00Z"])
    }

    @Test func aFixedOffsetZoneShiftsEveryTick() throws {
        let cron = try CronExpression("0 0 9 * * *")
        let india = try #require(TimeZone(secondsFromGMT: 5 * 3600 + 1800))
        let tick = cron.nextTick(after: try Self.instant("2026-03-29T00:00:00Z"), in: india)
        #expect(tick == (try Self.instant("2026-03-29T03:30:00Z")))
    }

    @Test func theWallSearchStopsAtItsLimit() throws {
        let yearly = try CronExpression("@yearly")
        #expect(yearly.nextWallMatch(atOrAfter: 86_400, notAfter: 300 * 86_400) == nil)
        let newYear: Int64 = 365 * 86_400
        #expect(yearly.nextWallMatch(atOrAfter: 86_400, notAfter: newYear) == newYear)
    }

    // MARK: - Clocks go forward

    @Test func amsterdamSpringForwardTicksASkippedTimeWhenTheGapEnds() throws {
        // 2026-03-29 01:00 UTC: 02:00 CET becomes 03:00 CEST.
        let zone = "Europe/Amsterdam"
        #expect(
            try Self.ticks("0 30 2 * * *", after: "2026-03-28T12:00:00Z", in: zone, count: 2)
                == ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"])
        #expect(try Self.ticks("0 30 2 * * *", after: "2026-03-29T00:59:59Z", in: zone) == ["2026-03-29T01:00:00Z"])
        #expect(try Self.ticks("0 30 2 * * *", after: "2026-03-29T01:00:00Z", in: zone) == ["2026-03-30T00:30:00Z"])
        #expect(try Self.ticks("0 0 2 * * *", after: "2026-03-28T12:00:00Z", in: zone) == ["2026-03-29T01:00:00Z"])
        #expect(
            try Self.ticks("@daily", after: "2026-03-28T12:00:00Z", in: zone, count: 2)
                == ["2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"])
    }

    @Test func skippedTimesInOneGapCollapseIntoOneTick() throws {
        let zone = "Europe/Amsterdam"
        #expect(
            try Self.ticks("0 0,30 2 * * *", after: "2026-03-28T12:00:00Z", in: zone, count: 2)
                == ["2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"])
        // 02:00, 02:30 and 03:00 (the first time after the gap) tick once, then 03:30 CEST.
        #expect(
            try Self.ticks("0 0,30 2,3 * * *", after: "2026-03-29T00:00:00Z", in: zone, count: 2)
                == ["2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"])
    }

    @Test func everyHourSkipsTheGapWithoutATick() throws {
        let zone = "Europe/Amsterdam"
        #expect(
            try Self.ticks("0 */15 * * * *", after: "2026-03-29T00:30:00Z", in: zone, count: 3)
                == ["2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:15:00Z"])
        #expect(
            try Self.ticks("0 30 * * * *", after: "2026-03-29T00:00:00Z", in: zone, count: 2)
                == ["2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"])
        #expect(try Self.ticks("* * * * * *", after: "2026-03-29T00:59:59Z", in: zone) == ["2026-03-29T01:00:00Z"])
    }

    @Test func newYorkSpringForward() throws {
        // 2026-03-08 07:00 UTC: 02:00 EST becomes 03:00 EDT.
        let zone = "America/New_York"
        #expect(
            try Self.ticks("0 30 2 * * *", after: "2026-03-07T00:00:00Z", in: zone, count: 3)
                == ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"])
        #expect(try Self.ticks("0 30 * * * *", after: "2026-03-08T06:30:00Z", in: zone) == ["2026-03-08T07:30:00Z"])
    }

    // MARK: - Clocks go back

    @Test func amsterdamFallBackTicksARepeatedTimeOnce() throws {
        // 2026-10-25 01:00 UTC: 03:00 CEST becomes 02:00 CET.
        let zone = "Europe/Amsterdam"
        #expect(
            try Self.ticks("0 30 2 * * *", after: "2026-10-24T12:00:00Z", in: zone, count: 2)
                == ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"])
        // Starting before the repeat ends, the second occurrence is still skipped.
        #expect(try Self.ticks("0 30 2 * * *", after: "2026-10-25T00:59:59Z", in: zone) == ["2026-10-26T01:30:00Z"])
        #expect(try Self.ticks("0 30 2 * * *", after: "2026-10-25T01:10:00Z", in: zone) == ["2026-10-26T01:30:00Z"])
        #expect(try Self.ticks("0 59 2 * * *", after: "2026-10-24T12:00:00Z", in: zone) == ["2026-10-25T00:59:00Z"])
        // 03:00 is first reached after the repeat, at 03:00 CET.
        #expect(try Self.ticks("0 0 3 * * *", after: "2026-10-25T00:00:00Z", in: zone) == ["2026-10-25T02:00:00Z"])
    }

    @Test func everyHourTicksThroughBothOccurrences() throws {
        let zone = "Europe/Amsterdam"
        #expect(
            try Self.ticks("0 30 * * * *", after: "2026-10-25T00:00:00Z", in: zone, count: 3)
                == ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:30:00Z"])
        #expect(
            try Self.ticks("0 * * * * *", after: "2026-10-25T00:58:00Z", in: zone, count: 3)
                == ["2026-10-25T00:59:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:01:00Z"])
    }

    @Test func newYorkFallBack() throws {
        // 2026-11-01 06:00 UTC: 02:00 EDT becomes 01:00 EST.
        let zone = "America/New_York"
        #expect(
            try Self.ticks("0 30 1 * * *", after: "2026-10-31T12:00:00Z", in: zone, count: 2)
                == ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"])
        #expect(
            try Self.ticks("0 30 * * * *", after: "2026-11-01T05:00:00Z", in: zone, count: 2)
                == ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"])
    }

    @Test func lordHoweShiftsByHalfAnHour() throws {
        let zone = "Australia/Lord_Howe"
        // 2026-04-04 15:00 UTC: 02:00 (+11) becomes 01:30 (+10:30); 01:45 repeats.
        #expect(
            try Self.ticks("0 45 1 * * *", after: "2026-04-04T00:00:00Z", in: zone, count: 2)
                == ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"])
        // 2026-10-03 15:30 UTC: 02:00 (+10:30) becomes 02:30 (+11); 02:15 is skipped.
        #expect(
            try Self.ticks("0 15 2 * * *", after: "2026-10-03T00:00:00Z", in: zone, count: 2)
                == ["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"])
        #expect(try Self.ticks("0 */15 * * * *", after: "2026-10-03T15:15:00Z", in: zone) == ["2026-10-03T15:30:00Z"])
    }

    // MARK: - Many ticks

    @Test func everySecondTicksOneSecondApartThroughAChange() throws {
        let cron = try CronExpression("* * * * * *")
        let amsterdam = try #require(TimeZone(identifier: "Europe/Amsterdam"))
        var last = try Self.instant("2026-10-24T23:00:00Z")
        for _ in 0..<100_000 {
            let tick = try #require(cron.nextTick(after: last, in: amsterdam))
            guard tick == last + 1 else {
                Issue.record("after \(last.formatted(.iso8601)) came \(tick.formatted(.iso8601))")
                return
            }
            last = tick
        }
        #expect(last == (try Self.instant("2026-10-26T02:46:40Z")))
    }
}
