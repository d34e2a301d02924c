/// One of the six fields of a ``CronExpression``: its name, its range and how one field's text becomes a bit set.
///
/// Bit `n` of a set means "value `n` matches". A field's text is a comma list of items; an item is `*`, a number or
/// name, a range `a-b`, or one of these with a step (`*/n`, `a-b/n`, `a/n`, where `a/n` runs to the field's end).
struct CronField: Sendable {
    /// The field's name in error messages ("day-of-month").
    let name: String
    /// The smallest value the field accepts.
    let lower: Int
    /// The largest value the field accepts.
    let upper: Int
    /// Where `*` and `a/n` end: ``upper``, except for day-of-week, where 7 (another Sunday) is left out.
    let spanEnd: Int
    /// Three-letter names (upper case) for the values from ``lower`` on, or empty.
    let names: [String]
    /// What a value that is not a number should be, for error messages ("a month name").
    let nameKind: String?
    /// Whether the field may be `?` (same as `*`).
    let allowsQuestionMark: Bool

    /// Seconds, 0–59.
    static let second = Self(name: "second", lower: 0, upper: 59)
    /// Minutes, 0–59.
    static let minute = Self(name: "minute", lower: 0, upper: 59)
    /// Hours, 0–23.
    static let hour = Self(name: "hour", lower: 0, upper: 23)
    /// Days of the month, 1–31.
    static let dayOfMonth = Self(name: "day-of-month", lower: 1, upper: 31, allowsQuestionMark: true)
    /// Months, 1–12 or `JAN`–`DEC`.
    static let month = Self(
        name: "month", lower: 1, upper: 12,
        names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
        nameKind: "a month name")
    /// Days of the week, 0–7 (0 and 7 are Sunday) or `SUN`–`SAT`.
    static let dayOfWeek = Self(
        name: "day-of-week", lower: 0, upper: 7, spanEnd: 6,
        names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
        nameKind: "a day name", allowsQuestionMark: true)

    /// Creates a field description.
    private init(
        name: String, lower: Int, upper: Int, spanEnd: Int? = nil, names: [String] = [], nameKind: String? = nil,
        allowsQuestionMark: Bool = false
    ) {
        self.name = name
        self.lower = lower
        self.upper = upper
        self.spanEnd = spanEnd ?? upper
        self.names = names
        self.nameKind = nameKind
        self.allowsQuestionMark = allowsQuestionMark
    }

    /// The bit set of every value `*` stands for.
    var fullSet: UInt64 { Self.bits(from: lower, through: spanEnd, step: 1) }

    /// Parses `text`, one field of `expression`, into a bit set.
    /// - Returns: The set, and whether the field is restricted (it is not `?` and does not start with `*`).
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/invalidConfiguration`` quoting the expression, naming this
    ///   field and the bad part.
    func parse(_ text: Substring, in expression: String) throws(ProtoqueueError) -> (set: UInt64, restricted: Bool) {
        func failure(_ part: Substring, _ problem: String) -> ProtoqueueError {
            ProtoqueueError(.invalidConfiguration, "cron expression \"\(expression)\": \(name) \"\(part)\" \(problem)")
        }
        if text == "*" || (text == "?" && allowsQuestionMark) { return (fullSet, false) }
        var set: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw failure(text, "has an empty list item") }
            if item.contains("?") {
                throw failure(
                    text,
                    allowsQuestionMark
                        ? "uses \"?\", which must stand alone"
                        : "uses \"?\", which only day-of-month and day-of-week allow")
            }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw failure(item, "has more than one step") }
            var step = 1
            if parts.count == 2 {
                let stepText = parts[1]
                guard Self.isNumber(stepText) else {
                    throw failure(item, "has a step \"\(stepText)\" that is not a number")
                }
                let parsed = Int(stepText) ?? Int.max
                guard parsed > 0 else { throw failure(item, "has a step of 0") }
                step = min(parsed, 64)
            }
            let range = parts[0]
            let first: Int
            let last: Int
            if range == "*" {
                (first, last) = (lower, spanEnd)
            } else if let dash = range.firstIndex(of: "-") {
                let low = range[..<dash]
                let high = range[range.index(after: dash)...]
                guard !low.isEmpty, !high.isEmpty, !high.contains("-") else {
                    throw failure(item, "is not a valid range")
                }
                first = try value(low, failure)
                last = try value(high, failure)
                guard first <= last else { throw failure(range, "is a reversed range") }
            } else {
                first = try value(range, failure)
                last = parts.count == 2 ? max(first, spanEnd) : first
            }
            set |= Self.bits(from: first, through: last, step: step)
        }
        // As Vixie cron reads it: a field that starts with `*` (`*/2`) does not restrict the day.
        return (set, !text.hasPrefix("*"))
    }

    /// A number or name of this field, checked against its range.
    private func value(
        _ text: Substring, _ failure: (Substring, String) -> ProtoqueueError
    ) throws(ProtoqueueError) -> Int {
        if let index = names.firstIndex(of: text.uppercased()) { return lower + index }
        guard Self.isNumber(text) else {
            throw failure(text, "is not a number" + (nameKind.map { " or \($0)" } ?? ""))
        }
        guard let number = Int(text), (lower...upper).contains(number) else {
            throw failure(text, "is outside \(lower)-\(upper)")
        }
        return number
    }

    /// Whether `text` is one or more ASCII digits.
    private static func isNumber(_ text: Substring) -> Bool {
        !text.isEmpty && text.allSatisfy { ("0"..."9").contains($0) }
    }

    /// The bits `first`, `first + step`, … up to `last`.
    private static func bits(from first: Int, through last: Int, step: Int) -> UInt64 {
        var set: UInt64 = 0
        for value in stride(from: first, through: last, by: step) { set |= 1 << UInt64(value) }
        return set
    }
}
