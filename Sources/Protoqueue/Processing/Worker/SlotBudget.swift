import Synchronization

/// One concurrency budget shared by the processors of a ``QueueWorker``: the slots they hold or have asked the
/// server for, over all queues, stay within ``total``, and no queue with work waiting starves another.
///
/// Each processor reports its *footprint* (tasks held plus tasks requested and not yet delivered) after every
/// change, and asks ``allowance(for:wanted:)`` before each pull request. The decision is a pure function,
/// ``decide(total:usage:waiting:for:wanted:)``, unit-tested in `SlotBudgetTests`.
final class SlotBudget: Sendable {
    /// How a processor ranks against the others: its weight (its share of contended slots relative to the other
    /// waiting processors') and, with a strict budget, its rank (lower first).
    struct Standing: Sendable, Hashable {
        var weight: Int = 1
        var rank: Int = 0
    }

    private struct State {
        var usage: [UInt64: Int] = [:]
        var standings: [UInt64: Standing] = [:]
        /// Processors whose last pull request was filled: their queue (tier) has work.
        var busy: Set<UInt64> = []
        /// Weighted mode: recent deliveries per processor, halved every ``decayEvery`` deliveries.
        var recent: [UInt64: Double] = [:]
        var sinceDecay = 0
        /// Processors that asked for more than they got, with their wake-up.
        var waiting: [UInt64: @Sendable () -> Void] = [:]
        /// Processors whose probe took a slot (``Probe/budgeted``), with their wake-up: once another waits, they are
        /// woken to give it back (``probeRelease(for:)``).
        var probers: [UInt64: @Sendable () -> Void] = [:]
        /// Processors that have asked for slots or probed at least once.
        var started: Set<UInt64> = []

        /// Registers `id` among the waiting; the wake-ups of the probers holding a slot, which it may need.
        mutating func wait(_ id: UInt64, wake: @escaping @Sendable () -> Void) -> [@Sendable () -> Void] {
            let isNew = waiting.updateValue(wake, forKey: id) == nil
            return isNew ? probers.filter { $0.key != id }.map(\.value) : []
        }

        /// Takes `id` out of ``waiting``; whether it was there (the others' shares may have grown).
        mutating func stopWaiting(_ id: UInt64) -> Bool {
            waiting.removeValue(forKey: id) != nil
        }

        /// The wake-ups of the waiting processors other than `id`.
        func wakes(except id: UInt64) -> [@Sendable () -> Void] {
            waiting.filter { $0.key != id }.map(\.value)
        }
    }

    /// Slots over every queue.
    let total: Int
    /// How contended slots are shared.
    enum Mode: Sendable {
        /// By weight among the processors waiting for slots (the queues of a ``QueueWorker``, weight 1 each: a
        /// queue held back by its own cap does not shrink the others' shares).
        case fair
        /// By weight among the processors with work, waiting or not (weighted priority tiers, none capped).
        case weighted
        /// To the best-ranked processor with work first (strict priority tiers).
        case strict
    }

    let mode: Mode
    private let state = Mutex(State())

    init(total: Int, mode: Mode = .fair) {
        self.total = max(1, total)
        self.mode = mode
    }

    /// Gives processor `id` its weight and rank (a priority tier's); processors without one have weight 1, rank 0.
    func setStanding(_ standing: Standing, for id: UInt64) {
        state.withLock { $0.standings[id] = standing }
    }

    /// Deliveries between two halvings of the recent counts that correct weighted shares.
    static let decayEvery = 4096

    /// Processor `id` received a delivery (counted in ``Mode/weighted`` only).
    func delivered(_ id: UInt64) {
        guard mode == .weighted else { return }
        state.withLock { state in
            state.recent[id, default: 0] += 1
            state.sinceDecay += 1
            if state.sinceDecay >= Self.decayEvery {
                state.sinceDecay = 0
                for key in state.recent.keys { state.recent[key]! /= 2 }
            }
        }
    }

    /// Processor `id`'s last pull request was filled (`true`: its queue has work) or ended unfilled (`false`).
    func setBusy(_ id: UInt64, _ busy: Bool) {
        let wakes = state.withLock { state -> [@Sendable () -> Void] in
            if busy {
                state.busy.insert(id)
                return []
            }
            // A tier that ran dry lets the strict tiers after it have slots.
            guard state.busy.remove(id) != nil, mode != .fair else { return [] }
            return state.wakes(except: id)
        }
        for wake in wakes { wake() }
    }

    /// How many of `wanted` slots processor `id`, holding or having requested `footprint` slots (when given), may
    /// take now (ask the server for, or give to a delivery no request asked for). They count as its own at once, so
    /// that two processors asking together are not given the same free slots, until its next
    /// ``report(_:footprint:full:)``. When the answer is less than `wanted`, `wake` is called once slots are released
    /// or another waiting processor's share is no longer counted (the processor then takes a turn and asks again). A
    /// processor served in full stops waiting, which wakes the others.
    func allowance(
        for id: UInt64, footprint: Int? = nil, wanted: Int, wake: @escaping @Sendable () -> Void
    ) -> Int {
        let (allowed, wakes) = state.withLock { state -> (Int, [@Sendable () -> Void]) in
            let before = state.usage[id] ?? 0
            if let footprint { state.usage[id] = footprint }
            state.started.insert(id)
            let allowed = Self.decide(
                total: total, usage: state.usage, waiting: Set(state.waiting.keys), standings: state.standings,
                busy: state.busy, recent: state.recent, mode: mode, for: id, wanted: wanted)
            state.usage[id, default: 0] += allowed
            state.probers[id] = nil
            let shrank = state.usage[id, default: 0] < before
            if allowed < wanted {
                return (allowed, state.wait(id, wake: wake) + (shrank ? state.wakes(except: id) : []))
            }
            return (allowed, state.stopWaiting(id) || shrank ? state.wakes(except: id) : [])
        }
        for wake in wakes { wake() }
        return allowed
    }

    /// How a processor whose queue ran dry (its last pull request ended unfilled) may ask the server for one task.
    enum Probe: Equatable {
        /// On a slot of the budget (one was free and nobody else waits for one; ``Mode/strict``: one was free).
        case budgeted
        /// On no slot: its delivery takes one only when ``allowance(for:footprint:wanted:wake:)`` gives it one, so
        /// that a queue with no known work keeps no slot from the others.
        case unbudgeted
        /// Not now (``Mode/strict``: a better-ranked processor has work or waits); `wake` is called later.
        case refused
    }

    /// How processor `id`, holding or having requested `footprint` slots, may probe its queue for one task. A
    /// probing processor does not count among the waiting: a queue with no known work does not shrink the others'
    /// shares.
    func probe(for id: UInt64, footprint: Int, wake: @escaping @Sendable () -> Void) -> Probe {
        let (probe, wakes) = state.withLock { state -> (Probe, [@Sendable () -> Void]) in
            let before = state.usage[id] ?? 0
            state.usage[id] = footprint
            let first = state.started.insert(id).inserted
            // Strict: not while a better tier has work or waits, nor before it probed once, so that at the start
            // the first tier's probe goes first and finds its work first.
            let rank = (state.standings[id] ?? Standing()).rank
            if mode == .strict
                && (Self.decide(
                    total: Int.max, usage: [:], waiting: Set(state.waiting.keys), standings: state.standings,
                    busy: state.busy, mode: mode, for: id, wanted: 1) == 0
                    || state.standings.contains { $0.value.rank < rank && !state.started.contains($0.key) })
            {
                state.probers[id] = nil
                let shrank = footprint < before
                return (.refused, state.wait(id, wake: wake) + (shrank || first ? state.wakes(except: id) : []))
            }
            let leftWaiting = state.stopWaiting(id) || first
            var probe = Probe.unbudgeted
            state.probers[id] = nil
            // Strict: tiers waiting now are worse ranked; the probe lets their slot go after its grace.
            if (mode == .strict || state.waiting.isEmpty)
                && Self.decide(
                    total: total, usage: state.usage, waiting: [], standings: state.standings, busy: state.busy,
                    recent: state.recent, mode: mode, for: id, wanted: 1) == 1
            {
                state.usage[id] = footprint + 1
                state.probers[id] = wake
                probe = .budgeted
            }
            return (probe, leftWaiting || state.usage[id]! < before ? state.wakes(except: id) : [])
        }
        for wake in wakes { wake() }
        return probe
    }

    /// When a processor whose probe took a slot lets it go.
    enum ProbeRelease: Equatable {
        /// Keep it: nobody else waits.
        case keep
        /// Once the probe has had time to find work: others wait.
        case afterGrace
        /// Now: a better-ranked processor waits (``Mode/strict``).
        case now
    }

    /// Whether processor `id`, whose probe took a slot, lets it go: once other processors wait for one, after the
    /// probe's grace (a queue with work answers a probe within it), at once for a better-ranked one in
    /// ``Mode/strict``.
    func probeRelease(for id: UInt64) -> ProbeRelease {
        state.withLock { state in
            let others = state.waiting.keys.filter { $0 != id }
            guard !others.isEmpty else { return .keep }
            let rank = (state.standings[id] ?? Standing()).rank
            let better = others.contains { (state.standings[$0] ?? Standing()).rank < rank }
            return mode == .strict && better ? .now : .afterGrace
        }
    }

    /// Processor `id` now holds or has requested `footprint` slots; `full` when all its own slots are taken, so that
    /// it asks for none. A smaller footprint wakes the processors waiting for slots, and so does a full processor
    /// that was waiting: a delivery for an earlier request gave it what it had asked for, and its share no longer
    /// counts against theirs.
    func report(_ id: UInt64, footprint: Int, full: Bool = false) {
        let wakes = state.withLock { state -> [@Sendable () -> Void] in
            let before = state.usage[id] ?? 0
            state.usage[id] = footprint
            let leftWaiting = full && state.stopWaiting(id)
            guard leftWaiting || footprint < before else { return [] }
            return state.wakes(except: id)
        }
        for wake in wakes { wake() }
    }

    /// Processor `id` stopped: its slots are free.
    func remove(_ id: UInt64) {
        let wakes = state.withLock { state -> [@Sendable () -> Void] in
            state.usage[id] = nil
            state.waiting[id] = nil
            state.probers[id] = nil
            state.started.remove(id)
            state.standings[id] = nil
            state.busy.remove(id)
            state.recent[id] = nil
            return state.wakes(except: id)
        }
        for wake in wakes { wake() }
    }

    /// The allowance: at most the free slots; and when other processors contend, at most what is left of this
    /// one's share of the total, by weight (equal weights: equal shares), so that freed slots go to those below their
    /// share. Contenders are the waiting processors (``Mode/fair``) or those with work, `busy`, as well
    /// (``Mode/weighted``). ``Mode/strict``: nothing while a processor of a better (lower) rank has work or waits.
    ///
    /// In ``Mode/weighted`` the share is corrected by how the processor's `recent` deliveries compare with its
    /// weight among the contenders (``correction(expected:observed:)``): slots turn into deliveries at rates that
    /// differ a little between processors, and the shares that count are those of started tasks.
    static func decide(
        total: Int, usage: [UInt64: Int], waiting: Set<UInt64>, standings: [UInt64: Standing] = [:],
        busy: Set<UInt64> = [], recent: [UInt64: Double] = [:], mode: Mode = .fair, for id: UInt64, wanted: Int
    ) -> Int {
        let free = total - usage.values.reduce(0, +)
        var allowed = max(0, min(wanted, free))
        let mine = standings[id] ?? Standing()
        if mode == .strict {
            let before = waiting.union(busy).subtracting([id])
            return before.contains(where: { (standings[$0] ?? Standing()).rank < mine.rank }) ? 0 : allowed
        }
        let others = (mode == .weighted ? waiting.union(busy) : waiting).subtracting([id])
        guard !others.isEmpty else { return allowed }
        let weights = others.reduce(mine.weight) { $0 + (standings[$1] ?? Standing()).weight }
        var fraction = Double(mine.weight) / Double(weights)
        if mode == .weighted {
            let seen = others.reduce(recent[id] ?? 0) { $0 + (recent[$1] ?? 0) }
            if seen >= Double(decayEvery) / 4 {
                fraction *= correction(expected: fraction, observed: (recent[id] ?? 0) / seen)
            }
        }
        let share = max(1, min(total, Int(Double(total) * fraction)))
        allowed = min(allowed, max(0, share - (usage[id] ?? 0)))
        return allowed
    }

    /// How much a weighted share grows (or shrinks) when the processor's share of recent deliveries is `observed`
    /// instead of the `expected` fraction: their ratio, within 0.5…2.
    static func correction(expected: Double, observed: Double) -> Double {
        guard observed > 0 else { return 2 }
        return min(2, max(0.5, expected / observed))
    }
}
