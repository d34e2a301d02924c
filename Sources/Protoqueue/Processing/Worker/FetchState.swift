/// The fetch side of one processor as plain values: free slots, parked deliveries, open pull requests, and when to
/// pull for how many. No I/O and no lock: ``ProcessorEngine`` guards it, and `FetchStateTests` covers its rules.
///
/// A task holds a slot from the moment it arrives until its settlement is queued. Pull requests ask for at most
/// the free slots plus the tasks to fetch ahead (``ProcessOptions/prefetch``) not already requested or parked, and
/// for at least half the slots (``lowWater``) while a request is open; with none open and fewer than half free, a
/// pull waits up to ``lowWaterWait`` for more, so a busy worker pulls in batches. Deliveries that arrive with no slot
/// free (fetched ahead, or for a request already given up), or with none in a shared budget, are parked, take the
/// next slots released or allowed, and are due an in-progress signal every third of the ack window while they wait
/// (``parkedSignals(now:every:)``).
///
/// Before the last open request expires, a new one is sent (``renewal``), so that the consumer always holds a live
/// request: nats-server before 2.10.14, finding only expired requests when a retry falls due, hands the retry to
/// nobody and moves the consumer's position back one message, which is then delivered again as new (delivery count 1).
///
/// A processor that fetches ahead releases slots as ``unwritten`` (``release(_:awaitingWrite:)``): pull requests may
/// count them, since they travel behind the acknowledgements that freed them, but deliveries already here or on
/// their way take them only once those acknowledgements were written (``written(_:)``). So at most `concurrency`
/// tasks are ever running or finished without the server having their acknowledgement.
struct FetchState<Parked> {
    /// A request's open time beyond its expiry before it is given up when the server's `408` did not end it: half
    /// an expiry, at least 20 ms and at most 1 s. A `408` that comes later ends nothing (``PullLedger/end(number:)``).
    var expiryGrace: UInt64 { min(1_000_000_000, max(20_000_000, expiry / 2)) }
    /// How long before the last open request expires the next one is sent: a quarter of an expiry, at least 1 ms and
    /// at most 250 ms. Long enough for a processing thread held up by a loaded machine (the full test suite on two
    /// cores delayed renewals by up to 67 ms); no longer, since deliveries for the old request may then come on top of
    /// what the new one asks for (they wait parked). Below half an expiry, so that the new request's aligned expiry
    /// is the next one (``alignedExpiry(at:)``).
    var renewal: UInt64 { min(250_000_000, max(1_000_000, expiry / 4)) }
    /// How long a pull for fewer than ``lowWater`` tasks waits for more slots.
    static var lowWaterWait: UInt64 { 2_000_000 }

    /// The smallest pull while a request is open: half the slots, at least 1.
    let lowWater: Int
    /// Each pull request's expiry, ns.
    let expiry: UInt64
    /// Slots no delivery holds, ``unwritten`` ones included.
    private(set) var free: Int
    /// Free slots whose acknowledgements have not been written yet: no delivery takes them.
    private(set) var unwritten = 0
    private(set) var ledger = PullLedger()
    private(set) var parked: [Parked] = []
    /// When each parked delivery arrived or was last signalled (monotonic ns), in the order of ``parked``.
    private var parkedSince: [UInt64] = []
    /// Pull requests sent so far.
    private(set) var pulls: UInt64 = 0
    /// Set by ``stop()``: no more pulls.
    private(set) var stopping = false
    /// Set once stopping and no request is open: deliveries arriving now are not taken.
    private(set) var fetchDone = false
    private var lowSince: UInt64?
    private var failures = 0
    private var retryAt: UInt64 = 0
    /// Looks at the consumer in a row that could not conclude.
    private var inconclusiveChecks = 0
    /// When the consumer is to be looked at again (monotonic ns), after a look that could not conclude.
    private(set) var consumerCheckAt: UInt64?

    /// - Parameter expectedShare: The slots the processor expects to hold when it shares a budget with others
    ///   (a weighted priority tier's share); ``lowWater`` is half of it, so that the processor keeps pulling up to its
    ///   share. `nil`: all of `concurrency`.
    init(concurrency: Int, expiry: UInt64, expectedShare: Int? = nil) {
        free = concurrency
        lowWater = max(1, min(concurrency, expectedShare ?? concurrency) / 2)
        self.expiry = expiry
    }

    /// What a turn decided.
    struct Turn: Equatable {
        /// Send a pull request for this many tasks.
        var pull: Int?
        /// Its expiry in ns (``alignedExpiry(at:)``).
        var expires: UInt64 = 0
        /// Look again at this time (monotonic ns) at the latest; `nil` waits for an event.
        var deadline: UInt64?
        /// Stopping has just ended the last open request.
        var fetchEnded = false
        /// Look at the consumer again: the last look could not conclude, and pull requests to a consumer that is
        /// gone may get no answer that would start another.
        var checkConsumer = false
    }

    /// Expires requests past their expiry plus grace and decides whether to pull at `now`, fetching up to `prefetch`
    /// tasks beyond the free slots. A pull decided here is counted only once ``pulled(_:expires:at:)`` says it was
    /// sent.
    ///
    /// Stopping, too, waits for the server to end the open requests (or for their grace to pass): the processors of
    /// a connection share one inbox subscription, so the server still sees interest in a request of a stopped
    /// processor and would deliver to it.
    mutating func turn(now: UInt64, prefetch: Int = 0) -> Turn {
        let grace = expiryGrace
        if now > grace { ledger.expire(before: now - grace) }
        if stopping {
            if ledger.isEmpty && !fetchDone {
                fetchDone = true
                return Turn(fetchEnded: true)
            }
            return Turn(deadline: ledger.oldestExpiry.map { $0 + grace })
        }
        var pull: Int?
        // Every open request expires within the renewal time: they count as ended, so a live request follows them.
        // (An open request leaves room for the tasks it still asks for, so there is something to ask for.)
        let lastExpiry = ledger.latestOpenExpiry
        let renewing = lastExpiry.map { $0 <= now + renewal } ?? false
        let available = free + max(0, prefetch - parked.count) - (renewing ? 0 : ledger.outstanding)
        if now < retryAt {
            // Backing off after a failed pull.
        } else if available >= lowWater || (renewing && available > 0) {
            pull = available
        } else if ledger.isEmpty && available > 0 {
            let since = lowSince ?? now
            lowSince = since
            // Turns come from more than one thread, each with its own clock reading: `now` may be before `since`.
            if now >= since + Self.lowWaterWait { pull = available }
        } else {
            lowSince = nil
        }
        var deadline = wakeTime(at: now, lastOpenExpiry: lastExpiry)
        if pull == nil, let since = lowSince { deadline = min(deadline ?? .max, since + Self.lowWaterWait) }
        if now < retryAt { deadline = min(deadline ?? .max, retryAt) }
        var checkConsumer = false
        if let due = consumerCheckAt {
            if now >= due {
                checkConsumer = true
                consumerCheckAt = nil
            } else {
                deadline = min(deadline ?? .max, due)
            }
        }
        return Turn(
            pull: pull, expires: pull == nil ? 0 : alignedExpiry(at: now), deadline: deadline,
            checkConsumer: checkConsumer)
    }

    /// A look at the consumer could not conclude at `now` (no answer in time, JetStream unavailable): the next look
    /// is due 100 ms later, doubling per look in a row up to 5 s (``Turn/checkConsumer``).
    /// - Returns: The looks in a row that could not conclude, this one included.
    mutating func consumerCheckInconclusive(at now: UInt64) -> Int {
        inconclusiveChecks += 1
        consumerCheckAt = now + Self.backOff(after: inconclusiveChecks, upToMilliseconds: 5000)
        return inconclusiveChecks
    }

    /// A look at the consumer concluded: it is there, or was created again.
    mutating func consumerCheckConcluded() {
        inconclusiveChecks = 0
        consumerCheckAt = nil
    }

    /// When the processor must look again without an event, as of `now` (monotonic ns): when its oldest open
    /// request is given up, or when its last open one is due its renewal; `nil` with none open.
    func wakeTime(at now: UInt64) -> UInt64? {
        wakeTime(at: now, lastOpenExpiry: ledger.latestOpenExpiry)
    }

    private func wakeTime(at now: UInt64, lastOpenExpiry: UInt64?) -> UInt64? {
        var deadline = ledger.oldestExpiry.map { $0 + expiryGrace }
        if let last = lastOpenExpiry, last > now + renewal { deadline = min(deadline ?? .max, last - renewal) }
        return deadline
    }

    /// The expiry of a pull request sent at `now`: until the next multiple of ``expiry`` on the monotonic clock at
    /// least half an expiry away, so between 0.5 and 1.5 expiries. Idle processors with the same fetch timeout
    /// thus see their requests expire together and send the next ones together: one wake-up of each thread
    /// involved serves them all, instead of one per processor.
    func alignedExpiry(at now: UInt64) -> UInt64 {
        guard expiry > 1 else { return expiry }
        var end = (now / expiry + 1) * expiry
        if end - now < expiry / 2 { end += expiry }
        return end - now
    }

    /// A pull request for `count` tasks, expiring after `expires` ns, was sent at `now`; `budgeted`: whether they
    /// hold slots of a shared budget.
    mutating func pulled(_ count: Int, expires: UInt64, at now: UInt64, budgeted: Bool = true) {
        pulls += 1
        ledger.requested(count, expiresAt: now + expires, number: pulls, budgeted: budgeted)
        lowSince = nil
        failures = 0
    }

    /// The open pull requests hold no slot of a shared budget from now on: their deliveries ask it for one.
    mutating func unbudgetOpenRequests() { ledger.unbudgetAll() }

    /// A pull request could not be sent at `now`: the next one waits 100 ms, doubling per failure up to 2 s.
    /// - Returns: The failures in a row, this one included, and when the next pull may go.
    mutating func pullFailed(at now: UInt64) -> (failures: Int, retryAt: UInt64) {
        failures += 1
        retryAt = now + Self.backOff(after: failures, upToMilliseconds: 2000)
        return (failures, retryAt)
    }

    /// The wait after `count` failures in a row, ns: 100 ms after the first, doubling per failure up to `cap` ms.
    private static func backOff(after count: Int, upToMilliseconds cap: UInt64) -> UInt64 {
        min(cap, 50 << UInt64(min(count, 7))) * 1_000_000
    }

    /// A delivery arrived.
    enum Arrival: Equatable {
        /// It holds a slot now.
        case admitted
        /// No slot was free; it waits in ``parked``.
        case parked
        /// The processor stopped fetching; it is not taken (it comes back after the ack wait).
        case refused
    }

    /// Counts a delivery against the oldest open request and gives it a slot or parks it.
    /// - Returns: The arrival, and whether a request was open for it.
    /// - Parameter admit: Whether it may take a free slot; `false` parks it (a shared budget has no slot for it).
    mutating func arrived(
        _ delivery: Parked, at now: UInt64 = 0, admit: Bool = true
    ) -> (
        arrival: Arrival, expected: Bool
    ) {
        if fetchDone { return (.refused, false) }
        let expected = ledger.delivered()
        guard admit && admissible > 0 else {
            parked.append(delivery)
            parkedSince.append(now)
            return (.parked, expected)
        }
        free -= 1
        return (.admitted, expected)
    }

    /// The server ended request `number` (`404`, `408`, `409`, `503`), or the oldest open one when the status did
    /// not say which.
    mutating func requestEnded(number: UInt64?) {
        if let number { ledger.end(number: number) } else { ledger.endOldest() }
    }

    /// Free slots a delivery may take now.
    var admissible: Int { free - unwritten }

    /// Returns `count` slots, to parked deliveries first; with `awaitingWrite`, they stay ``unwritten`` until
    /// ``written(_:)``.
    /// - Returns: The parked deliveries that got a slot, in arrival order.
    mutating func release(_ count: Int, awaitingWrite: Bool = false) -> [Parked] {
        free += count
        if awaitingWrite { unwritten += count }
        return unpark(upTo: count)
    }

    /// The acknowledgements that freed `count` ``unwritten`` slots were written.
    /// - Returns: The parked deliveries that got a slot, in arrival order.
    mutating func written(_ count: Int) -> [Parked] {
        unwritten -= min(count, unwritten)
        return unpark(upTo: count)
    }

    /// Gives free slots to up to `count` parked deliveries (a shared budget allowed them that many).
    /// - Returns: The parked deliveries that got a slot, in arrival order.
    mutating func admitParked(upTo count: Int) -> [Parked] {
        unpark(upTo: count)
    }

    /// At most `count`: the slots just released or allowed. (Parked deliveries may wait beside free slots that a
    /// shared budget did not give them; those are not theirs to take.)
    private mutating func unpark(upTo count: Int) -> [Parked] {
        guard !parked.isEmpty, admissible > 0, count > 0 else { return [] }
        let admitted = min(parked.count, admissible, count)
        let unparked = Array(parked.prefix(admitted))
        parked.removeFirst(admitted)
        parkedSince.removeFirst(admitted)
        free -= admitted
        return unparked
    }

    /// The parked deliveries that have waited `every` ns since they arrived or were last signalled, at `now`: each
    /// is counted as signalled now. Also when the next one falls due (`nil` with none parked).
    mutating func parkedSignals(now: UInt64, every: UInt64) -> (due: [Parked], next: UInt64?) {
        var due: [Parked] = []
        var next: UInt64?
        for index in parkedSince.indices {
            if now >= parkedSince[index] + every {
                due.append(parked[index])
                parkedSince[index] = now
            }
            next = min(next ?? .max, parkedSince[index] + every)
        }
        return (due, next)
    }

    /// Stops pulling.
    mutating func stop() { stopping = true }

    /// Removes and returns the parked deliveries.
    mutating func drainParked() -> [Parked] {
        defer {
            parked.removeAll()
            parkedSince.removeAll()
        }
        return parked
    }
}
