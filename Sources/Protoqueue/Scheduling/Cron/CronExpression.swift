/// A cron expression: which local wall-clock times, in some time zone, a schedule fires at.
///
/// ## Overview
/// ```swift
/// let weekdays = try CronExpression("0 30 9 * * MON-FRI")  // 09:30:00 Monday to Friday
/// let hourly = try CronExpression("@hourly")
/// ```
/// Six fields separated by whitespace: second, minute, hour, day-of-month, month, day-of-week; with five fields the
/// second is 0. Each field is `*`, a number, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a` to the end of
/// the field), or a comma list of these. Ranges: second and minute 0–59, hour 0–23, day-of-month 1–31, month 1–12
/// or `JAN`–`DEC`, day-of-week 0–7 (0 and 7 are Sunday) or `SUN`–`SAT`; names are case-insensitive and work in
/// ranges (`MON-FRI`). Day-of-month and day-of-week may be `?`, the same as `*`. In day-of-week, `*` and `a/n` run
/// to 6.
/// The macros are `@yearly` and `@annually` (`0 0 0 1 1 *`), `@monthly` (`0 0 0 1 * *`), `@weekly` (`0 0 0 * * 0`),
/// `@daily` and `@midnight` (`0 0 0 * * *`) and `@hourly` (`0 0 * * * *`).
///
/// As in classic (Vixie) cron, when both day-of-month and day-of-week are restricted (neither is `?` nor starts with
/// `*`), a day matches when either matches: `0 0 0 13 * FRI` fires on every 13th and on every Friday. Otherwise both
/// must match: `0 0 0 */2 * MON` fires on Mondays that fall on odd dates.
///
/// ## Daylight saving
/// Ticks fall on whole seconds whose local wall time in the schedule's time zone matches. Around a change of the
/// zone's offset:
/// - **Clocks go forward** (local times are skipped): if the hour field matches every hour (`*`), the skipped times
///   produce no tick, since no real time passed. Otherwise every matching skipped time ticks once, at the first
///   instant after the gap, and several such times collapse into that one tick. Daily 02:30 in Europe/Amsterdam on
///   2026-03-29 ticks at 03:00 CEST (01:00 UTC).
/// - **Clocks go back** (local times repeat): if the hour field matches every hour, ticks follow real time through
///   both occurrences (every minute keeps ticking every minute). Otherwise a matching time that occurs twice ticks
///   once, at its first occurrence: daily 02:30 in Europe/Amsterdam on 2026-10-25 ticks at 00:30 UTC, not at 01:30.
///
/// An expression that can never match (`0 0 0 31 2 *`, February 31) is refused.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as given, with single spaces between its fields.
    let text: String
    /// Matching seconds, bits 0–59.
    let seconds: UInt64
    /// Matching minutes, bits 0–59.
    let minutes: UInt64
    /// Matching hours, bits 0–23.
    let hours: UInt64
    /// Matching days of the month, bits 1–31.
    let daysOfMonth: UInt64
    /// Matching months, bits 1–12.
    let months: UInt64
    /// Matching days of the week, bits 0–6 (0 is Sunday).
    let daysOfWeek: UInt64
    /// Whether a day matches when either day field matches (both are restricted) rather than when both do.
    let eitherDayMatches: Bool

    /// The macros and the six-field expressions they stand for.
    private static let macros: KeyValuePairs<String, String> = [
        "@yearly": "0 0 0 1 1 *", "@annually": "0 0 0 1 1 *", "@monthly": "0 0 0 1 * *", "@weekly": "0 0 0 * * 0",
        "@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *", "@hourly": "0 0 * * * *",
    ]

    /// Parses a cron expression (see the type's overview for the syntax).
    /// - Parameter text: Five or six fields separated by whitespace, or a macro such as `@daily`.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidConfiguration`` quoting the expression and naming the
    ///   bad field and part, for example `cron expression "0 61 * * * *": minute "61" is outside 0-59`; also for a
    ///   wrong number of fields, an unknown macro and an expression that never matches.
    public init(_ text: String) throws(ProtoqueueError) {
        let tokens = text.split(whereSeparator: \.isWhitespace)
        let normalised = tokens.joined(separator: " ")
        func failure(_ problem: String) -> ProtoqueueError {
            ProtoqueueError(.invalidConfiguration, "cron expression \"\(normalised)\": \(problem)")
        }
        var fields = tokens
        if tokens.count == 1, tokens[0].hasPrefix("@") {
            let name = tokens[0].lowercased()
            guard let expansion = Self.macros.first(where: { $0.key == name })?.value else {
                let known = Self.macros.map(\.key).joined(separator: ", ")
                throw failure("unknown macro \"\(tokens[0])\"; use one of \(known)")
            }
            fields = expansion.split(separator: " ")
        } else if tokens.count == 5 {
            fields.insert("0", at: 0)
        } else if tokens.count != 6 {
            throw failure(
                "expected 5 or 6 fields (second minute hour day-of-month month day-of-week, the second may be left "
                    + "out), found \(tokens.count)")
        }
        let second = try CronField.second.parse(fields[0], in: normalised)
        let minute = try CronField.minute.parse(fields[1], in: normalised)
        let hour = try CronField.hour.parse(fields[2], in: normalised)
        let dayOfMonth = try CronField.dayOfMonth.parse(fields[3], in: normalised)
        let month = try CronField.month.parse(fields[4], in: normalised)
        let dayOfWeek = try CronField.dayOfWeek.parse(fields[5], in: normalised)
        self.text = normalised
        seconds = second.set
        minutes = minute.set
        hours = hour.set
        daysOfMonth = dayOfMonth.set
        months = month.set
        // Day 7 is another Sunday.
        daysOfWeek = (dayOfWeek.set & 0x7F) | (dayOfWeek.set >> 7 & 1)
        eitherDayMatches = dayOfMonth.restricted && dayOfWeek.restricted
        guard canMatch else {
            throw failure("never matches: no selected month has any of the selected days of the month")
        }
    }

    /// The expression as given, with single spaces between its fields (`@daily` stays `@daily`).
    public var description: String { text }

    /// Whether the hour field matches all 24 hours; this decides the daylight-saving rule (see the type's overview).
    var matchesEveryHour: Bool { hours == (1 << 24) - 1 }

    /// Whether some day matches. A restricted day-of-week matches some day of every month (alone, or OR-ed with
    /// day-of-month); otherwise some selected month must have a selected day of the month (February has 29).
    private var canMatch: Bool {
        if daysOfWeek != CronField.dayOfWeek.fullSet || eitherDayMatches { return true }
        let longest = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return (1...12).contains { month in
            months & (1 << UInt64(month)) != 0 && daysOfMonth & ((1 << UInt64(longest[month] + 1)) - 1) != 0
        }
    }

    /// Whether the day `day` of `month` matches, its day of the week being `weekday` (0 is Sunday).
    func dayMatches(day: Int, weekday: Int) -> Bool {
        let byDate = daysOfMonth & (1 << UInt64(day)) != 0
        let byWeekday = daysOfWeek & (1 << UInt64(weekday)) != 0
        return eitherDayMatches ? byDate || byWeekday : byDate && byWeekday
    }
}
