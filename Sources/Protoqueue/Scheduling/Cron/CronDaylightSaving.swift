import Foundation

extension CronExpression {
    /// How far ``nextTick(after:in:)`` looks ahead: 8 years of 366 days.
    static let searchLimit: Int64 = 8 * 366 * 86_400

    /// The earliest whole second strictly after `instant` whose local wall time in `timeZone` matches, under the
    /// daylight-saving rule in the type's overview; `nil` when nothing matches within 8 years.
    func nextTick(after instant: Date, in timeZone: TimeZone) -> Date? {
        let raw = instant.timeIntervalSince1970
        // About ±30,000 years: keeps the arithmetic below far from Int64 overflow.
        guard raw.isFinite, abs(raw) < 1e12 else { return nil }
        let start = Int64(raw.rounded(.down)) + 1
        let zone = CronZone(timeZone)
        let limit = start + Self.searchLimit
        let tick =
            matchesEveryHour
            ? realTimeTick(from: start, limit: limit, zone: zone) : wallClockTick(from: start, limit: limit, zone: zone)
        return tick.map { Date(timeIntervalSince1970: TimeInterval($0)) }
    }

    /// The first instant at or after `start` whose wall time matches: skipped wall times never tick, repeated ones
    /// tick in both occurrences. Used when the hour field matches every hour.
    private func realTimeTick(from start: Int64, limit: Int64, zone: CronZone) -> Int64? {
        var segmentStart = start
        while segmentStart <= limit {
            // The offset is constant from segmentStart up to the next transition.
            let offset = zone.offset(at: segmentStart)
            let transition = zone.transition(after: segmentStart)
            guard let wall = nextWallMatch(atOrAfter: segmentStart + offset, notAfter: limit + offset) else {
                return nil
            }
            let tick = wall - offset
            guard let transition, tick >= transition else { return tick <= limit ? tick : nil }
            segmentStart = transition
        }
        return nil
    }

    /// The first instant at or after `start` at which the wall clock reaches a matching wall time it had not
    /// reached before: a skipped time ticks at the end of its gap, a repeated time only in its first occurrence.
    /// Used when the hour field does not match every hour.
    private func wallClockTick(from start: Int64, limit: Int64, zone: CronZone) -> Int64? {
        var segmentStart = start
        var offset = zone.offset(at: start)
        var transition = zone.transition(after: start)
        let reached = zone.latestWallTime(before: start)
        guard let wall = nextWallMatch(atOrAfter: reached + 1, notAfter: limit + offset) else { return nil }
        while true {
            guard let next = transition, wall - offset >= next else {
                let tick = max(wall - offset, segmentStart)
                return tick <= limit ? tick : nil
            }
            guard next <= limit else { return nil }
            let nextOffset = zone.offset(at: next)
            // Clocks go forward over `wall`: it ticks when the gap ends.
            if nextOffset > offset, wall <= next + nextOffset { return next }
            // Otherwise `wall` is still ahead, in the next segment (after a repeat, once the clock catches up).
            (segmentStart, offset, transition) = (next, nextOffset, zone.transition(after: next))
        }
    }

    /// The earliest matching wall time (local time encoded as seconds since 1970 as if in UTC) at or after `start`,
    /// or `nil` if there is none up to `limit`. Skips a whole month, day, hour or minute at a time when it does not
    /// match.
    func nextWallMatch(atOrAfter start: Int64, notAfter limit: Int64) -> Int64? {
        let startDay = Civil.floorDivide(start, 86_400)
        var secondOfDay = Int(start - startDay * 86_400)
        var (year, month, day) = Civil.date(fromDays: startDay)
        var (hour, minute, second) = (secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60)
        let lastYear = Civil.date(fromDays: Civil.floorDivide(limit, 86_400)).year
        while year <= lastYear {
            guard let nextMonth = Self.next(in: months, from: month) else {
                (year, month, day, hour, minute, second) = (year + 1, 1, 1, 0, 0, 0)
                continue
            }
            if nextMonth != month { (month, day, hour, minute, second) = (nextMonth, 1, 0, 0, 0) }
            guard day <= Civil.daysInMonth(year: year, month: month) else {
                (month, day, hour, minute, second) = (month + 1, 1, 0, 0, 0)
                continue
            }
            let days = Civil.days(fromYear: year, month: month, day: day)
            guard dayMatches(day: day, weekday: Int(Civil.floorModulo(days + 4, 7))) else {
                (day, hour, minute, second) = (day + 1, 0, 0, 0)
                continue
            }
            guard let nextHour = Self.next(in: hours, from: hour) else {
                (day, hour, minute, second) = (day + 1, 0, 0, 0)
                continue
            }
            if nextHour != hour { (hour, minute, second) = (nextHour, 0, 0) }
            guard let nextMinute = Self.next(in: minutes, from: minute) else {
                (hour, minute, second) = (hour + 1, 0, 0)
                continue
            }
            if nextMinute != minute { (minute, second) = (nextMinute, 0) }
            guard let nextSecond = Self.next(in: seconds, from: second) else {
                (minute, second) = (minute + 1, 0)
                continue
            }
            secondOfDay = hour * 3600 + minute * 60 + nextSecond
            let wall = days * 86_400 + Int64(secondOfDay)
            return wall <= limit ? wall : nil
        }
        return nil
    }

    /// The smallest member of `set` that is at least `value`.
    private static func next(in set: UInt64, from value: Int) -> Int? {
        guard value < 64 else { return nil }
        let rest = set & (UInt64.max << UInt64(value))
        return rest == 0 ? nil : rest.trailingZeroBitCount
    }
}

/// A time zone's UTC offsets and transitions, in whole seconds since 1970.
private struct CronZone {
    /// The zone.
    let timeZone: TimeZone

    /// Wraps `timeZone`.
    init(_ timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    /// The offset from UTC at `instant`.
    func offset(at instant: Int64) -> Int64 {
        Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant))))
    }

    /// The first instant strictly after `instant` at which the offset may change; `nil` for a fixed-offset zone.
    func transition(after instant: Int64) -> Int64? {
        let date = Date(timeIntervalSince1970: TimeInterval(instant))
        guard let transition = timeZone.nextDaylightSavingTimeTransition(after: date) else { return nil }
        return Int64(transition.timeIntervalSince1970.rounded(.up))
    }

    /// The latest wall time shown at any instant before `instant`: the wall time one second earlier, or, while the
    /// clock repeats times after going back, the last wall time before it went back.
    func latestWallTime(before instant: Int64) -> Int64 {
        var latest = instant - 1 + offset(at: instant - 1)
        // No zone has gone back by two days; earlier transitions cannot matter.
        var cursor = instant - 1 - 2 * 86_400
        while let next = transition(after: cursor), next < instant {
            latest = max(latest, next - 1 + offset(at: next - 1))
            cursor = next
        }
        return latest
    }
}

/// Proleptic Gregorian calendar arithmetic on days since 1970-01-01.
private enum Civil {
    /// `value / divisor`, rounded towards minus infinity.
    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    /// `value` modulo `divisor`, in `0..<divisor`.
    static func floorModulo(_ value: Int64, _ divisor: Int64) -> Int64 {
        value - floorDivide(value, divisor) * divisor
    }

    /// Days since 1970-01-01 of a date (`month` 1–12).
    static func days(fromYear year: Int, month: Int, day: Int) -> Int64 {
        // Years counted from March, so that February 29 ends a year; eras are 400-year cycles of 146,097 days.
        let shiftedYear = Int64(month <= 2 ? year - 1 : year)
        let era = floorDivide(shiftedYear, 400)
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = Int64((153 * ((month + 9) % 12) + 2) / 5 + day - 1)
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` days after 1970-01-01.
    static func date(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        let month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        let year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// The number of days in `month` (1–12) of `year`.
    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
