/// A delivered message's headers in the order they came. A repeated name counts with its first value in every reading
/// here; the later values stay in ``fields``, unread. Kept as a list rather than a dictionary: a worker reads a
/// task's ten or so headers once, and hashing each name cost more than a list's search.
struct ReceivedHeaders: Sendable {
    /// Names and values in the order they came, repeated names included.
    private(set) var fields: [(name: String, value: String)] = []

    init() {}

    /// The headers of `dictionary`, in its order.
    init(_ dictionary: [String: String]) {
        fields = dictionary.map { ($0.key, $0.value) }
    }

    mutating func reserveCapacity(_ count: Int) {
        fields.reserveCapacity(count)
    }

    /// Adds a header as it came; one with a name already here is kept but not read.
    mutating func append(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// The first value of `name`, by exact name.
    subscript(name: String) -> String? {
        for field in fields where field.name == name { return field.value }
        return nil
    }

    /// The first value of each name, as handlers see the headers (``TaskContext/headers``).
    var dictionary: [String: String] {
        Dictionary(fields, uniquingKeysWith: { first, _ in first })
    }
}
