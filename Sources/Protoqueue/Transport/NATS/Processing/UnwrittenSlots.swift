/// Slots a ``ProcessingHub`` released awaiting the write of the acknowledgements that freed them
/// (``ProcessorEngine/release(_:awaitingWrite:)``), until that write: plain values, no lock (the hub thread owns
/// them), covered by `UnwrittenSlotsTests`.
///
/// Each entry names the batched connection's write that carries its acknowledgements
/// (``BatchedConnection/requestWrite()``). An entry is written once that write's PING was answered, or, earlier, once
/// nats.c has nothing buffered: its flush writes the buffer at once and only then waits for the answer.
struct UnwrittenSlots<Owner> {
    private var entries: [(write: UInt64, owner: Owner, count: Int)] = []
    /// Since when the entries have waited without one being written (monotonic ns).
    private var waitingSince: UInt64 = 0

    /// How often the hub looks at nats.c's buffer while entries wait, ns: 0.1 ms, and 1 ms once none was written for
    /// 5 ms (a socket the server does not read).
    static var quickLook: UInt64 { 100_000 }
    static var slowLook: UInt64 { 1_000_000 }
    static var slowAfter: UInt64 { 5_000_000 }

    var isEmpty: Bool { entries.isEmpty }

    /// The write the oldest entry waits for, or `nil` with none.
    var awaitedWrite: UInt64? { entries.first?.write }

    /// `count` slots of `owner` wait for write number `write`, from `now`.
    mutating func add(_ count: Int, of owner: Owner, write: UInt64, now: UInt64) {
        if entries.isEmpty { waitingSince = now }
        entries.append((write, owner, count))
    }

    /// Removes and returns the entries written at `now`: those of writes up to `lastWrite`, or all of them when
    /// `bufferEmpty()` (asked only when some wait for a later write).
    mutating func takeWritten(
        lastWrite: UInt64, now: UInt64, bufferEmpty: () -> Bool
    ) -> [(owner: Owner, count: Int)] {
        guard let first = entries.first else { return [] }
        let all = first.write > lastWrite && bufferEmpty()
        let done = all ? entries.count : entries.prefix { $0.write <= lastWrite }.count
        guard done > 0 else { return [] }
        let written = entries.prefix(done).map { (owner: $0.owner, count: $0.count) }
        entries.removeFirst(done)
        waitingSince = now
        return written
    }

    /// When to look at the buffer next (monotonic ns), or `nil` with no entry.
    func nextLook(now: UInt64) -> UInt64? {
        guard !entries.isEmpty else { return nil }
        return now + (now < waitingSince + Self.slowAfter ? Self.quickLook : Self.slowLook)
    }
}
