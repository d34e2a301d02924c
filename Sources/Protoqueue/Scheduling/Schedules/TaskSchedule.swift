public import Foundation

/// A periodic task: a name, when it ticks, and what to do about ticks that were missed or that would overlap.
///
/// ## Overview
/// A schedule is declared on a queue with the task it enqueues at each tick
/// (``Queue/declareSchedule(_:task:metadata:)``) and kept on the server, so any number of application instances may
/// declare the same one. Every worker of the queue fires its ticks; each tick's task is stored exactly once, with
/// the id `<name>@<tick time>` (`docs/processing.md`, *Schedules*).
/// ```swift
/// let nightly = TaskSchedule(
///     name: "nightly-report",
///     timing: .cron(try CronExpression("0 0 3 * * *"), in: TimeZone(identifier: "Europe/Amsterdam")!),
///     missedTicks: .runOnce, overlap: .skip)
/// try await queue.declareSchedule(nightly, task: ReportTask(kind: "daily"))
/// ```
public struct TaskSchedule: Sendable, Hashable {
    /// The schedule's name: one NATS subject token (letters, digits, `-`, `_`), at most 64 characters.
    public var name: String
    /// When it ticks.
    public var timing: ScheduleTiming
    /// What happens to ticks that passed while no worker could fire them.
    public var missedTicks: MissedTicks
    /// Whether a tick is skipped while the task of an earlier tick is still in the queue.
    public var overlap: Overlap

    /// Creates a schedule.
    /// - Parameters:
    ///   - name: The schedule's name.
    ///   - timing: When it ticks.
    ///   - missedTicks: What happens to missed ticks (default ``MissedTicks/skip``).
    ///   - overlap: Whether ticks may overlap (default ``Overlap/allow``).
    public init(
        name: String, timing: ScheduleTiming, missedTicks: MissedTicks = .skip, overlap: Overlap = .allow
    ) {
        self.name = name
        self.timing = timing
        self.missedTicks = missedTicks
        self.overlap = overlap
    }

    /// What happens to ticks no worker fired within the lateness bound (60 s, or half the stream's duplicate window
    /// when that is shorter): after every worker was down, or the server was.
    public struct MissedTicks: Sendable, Hashable, CustomStringConvertible {
        /// The header value.
        public let description: String
        /// Missed ticks enqueue nothing; the schedule goes on with the next tick.
        public static let skip = MissedTicks(description: "skip")
        /// All missed ticks together enqueue one task, as the latest of them.
        public static let runOnce = MissedTicks(description: "runOnce")

        init?(header: String) {
            guard ["skip", "runOnce"].contains(header) else { return nil }
            description = header
        }
        private init(description: String) { self.description = description }
    }

    /// Whether a tick's task may be enqueued while an earlier tick's task is still in the queue (waiting, running
    /// or waiting for a retry).
    public struct Overlap: Sendable, Hashable, CustomStringConvertible {
        /// The header value.
        public let description: String
        /// Every tick enqueues its task.
        public static let allow = Overlap(description: "allow")
        /// A tick enqueues nothing while an earlier tick's task is in the queue.
        public static let skip = Overlap(description: "skip")

        init?(header: String) {
            guard ["allow", "skip"].contains(header) else { return nil }
            description = header
        }
        private init(description: String) { self.description = description }
    }
}

/// When a schedule ticks: a cron expression in a time zone, or a fixed interval.
public struct ScheduleTiming: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case cron(CronExpression, TimeZone)
        case every(seconds: Int64)
    }

    let kind: Kind

    /// Ticks at the local times `expression` matches in `timeZone` (UTC by default); ``CronExpression`` documents
    /// what happens when daylight-saving time skips or repeats an hour.
    /// - Parameters:
    ///   - expression: The cron expression (seconds first).
    ///   - timeZone: The zone whose local time the expression reads; persisted by its identifier.
    /// - Returns: The timing.
    public static func cron(_ expression: CronExpression, in timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> Self
    {
        Self(kind: .cron(expression, timeZone))
    }

    /// Ticks every `interval`, at whole multiples of it since 1970-01-01 00:00:00 UTC, so that every instance
    /// computes the same ticks. The interval must be a whole number of seconds, at least one.
    /// - Parameter interval: The interval.
    /// - Returns: The timing.
    public static func every(_ interval: Duration) -> Self {
        let (seconds, attoseconds) = interval.components
        return Self(kind: .every(seconds: attoseconds == 0 ? seconds : -1))
    }

    /// `cron <expression>` or `every <seconds>s`: the `Protoqueue-Schedule-Timing` header value.
    public var description: String {
        switch kind {
        case .cron(let expression, _): "cron \(expression)"
        case .every(let seconds): "every \(seconds)s"
        }
    }

    /// The time zone of a cron timing.
    package var timeZone: TimeZone? {
        if case .cron(_, let zone) = kind { return zone }
        return nil
    }

    /// Refuses an interval that is not a whole number of seconds, at least one.
    func validate() throws(ProtoqueueError) {
        if case .every(let seconds) = kind, seconds < 1 {
            throw ProtoqueueError(
                .invalidConfiguration, "a schedule's interval must be a whole number of seconds, at least 1 second")
        }
    }

    /// The first tick after `milliseconds` (Unix ms), in Unix ms; `nil` when there is none.
    func nextTick(after milliseconds: Int64) -> Int64? {
        switch kind {
        case .every(let seconds):
            let interval = seconds * 1000
            return (milliseconds.dividedRoundingDown(by: interval) + 1) * interval
        case .cron(let expression, let zone):
            let instant = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            return expression.nextTick(after: instant, in: zone).map {
                Int64(($0.timeIntervalSince1970 * 1000).rounded())
            }
        }
    }

    /// Reads the timing of a schedule record's headers.
    init?(timing: String, timeZone: String?) {
        if timing.hasPrefix("every "), timing.hasSuffix("s"),
            let seconds = Int64(timing.dropFirst("every ".count).dropLast()), seconds >= 1
        {
            kind = .every(seconds: seconds)
        } else if timing.hasPrefix("cron "), let expression = try? CronExpression(String(timing.dropFirst(5))),
            let zone = TimeZone(identifier: timeZone ?? "UTC")
        {
            kind = .cron(expression, zone)
        } else {
            return nil
        }
    }

    private init(kind: Kind) { self.kind = kind }
}

extension Int64 {
    /// `self / divisor` rounded towards minus infinity.
    fileprivate func dividedRoundingDown(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
