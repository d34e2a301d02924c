/// The pull requests a processor has sent and the server has not yet fulfilled, oldest first.
///
/// A JetStream consumer serves waiting pull requests in the order they arrived, so each delivery counts against the
/// oldest open request. A request ends when all its messages came, when the server says it ended (a `408` when it
/// expires, a `409` when the server gives it up, naming the request by its number in the reply subject), or, when
/// that status never comes, once its expiry plus a grace period has passed. (It does not come after a reconnect,
/// and nats-server 2.9.10 and 2.15.1 drop a request without one when a message arrives at the instant it expires.)
struct PullLedger {
    private struct Request {
        var number: UInt64
        var remaining: Int
        var expiresAt: UInt64
        /// Whether its messages hold slots of a shared budget (``SlotBudget``); a probe sent without may not.
        var budgeted: Bool
        var ended = false
    }

    /// Open requests; `requests[head...]` are the live ones.
    private var requests: [Request] = []
    private var head = 0
    /// Messages requested and not yet delivered, over every open request.
    private(set) var outstanding = 0
    /// Of ``outstanding``, those asked for by requests that hold no slot of a shared budget.
    private(set) var unbudgeted = 0
    /// The latest expiry of any request sent (monotonic ns; 0 before the first): the server delivers nothing for
    /// these requests after it.
    private(set) var latestExpiry: UInt64 = 0

    /// Whether no request is open.
    var isEmpty: Bool { head == requests.count }

    /// Whether the next delivery counts against a request that holds slots of a shared budget: `false` when none is
    /// open or the oldest open one holds none.
    var nextIsBudgeted: Bool { head < requests.count && requests[head].budgeted }

    /// Records request `number` for `count` messages that the server ends at `expiresAt` (monotonic ns);
    /// `budgeted`: whether they hold slots of a shared budget.
    mutating func requested(_ count: Int, expiresAt: UInt64, number: UInt64 = 0, budgeted: Bool = true) {
        precondition(count > 0, "a pull request asks for at least one message")
        requests.append(Request(number: number, remaining: count, expiresAt: expiresAt, budgeted: budgeted))
        outstanding += count
        if !budgeted { unbudgeted += count }
        latestExpiry = max(latestExpiry, expiresAt)
    }

    /// Counts one delivery against the oldest open request; `false` if none was open (a delivery for a request
    /// this ledger had already given up).
    mutating func delivered() -> Bool {
        guard head < requests.count else { return false }
        requests[head].remaining -= 1
        outstanding -= 1
        if !requests[head].budgeted { unbudgeted -= 1 }
        if requests[head].remaining == 0 { dropOldest() }
        return true
    }

    /// Ends the oldest open request: the server reported that it expired or gave it up.
    mutating func endOldest() {
        guard head < requests.count else { return }
        forget(head)
        dropOldest()
    }

    /// Ends request `number`: the server reported that it expired or gave it up. No effect when it is not open
    /// (it was given up already).
    mutating func end(number: UInt64) {
        guard let index = requests[head...].firstIndex(where: { $0.number == number && !$0.ended }) else { return }
        forget(index)
        requests[index].ended = true
        if index == head { dropOldest() }
    }

    /// The expiry of the oldest open request (monotonic ns), or `nil` when none is open.
    var oldestExpiry: UInt64? { head < requests.count ? requests[head].expiresAt : nil }

    /// The latest expiry of the open requests (monotonic ns), or `nil` when none is open.
    var latestOpenExpiry: UInt64? {
        requests[head...].lazy.filter { !$0.ended }.map(\.expiresAt).max()
    }

    /// Ends every open request whose expiry is before `time` (monotonic ns).
    mutating func expire(before time: UInt64) {
        while head < requests.count, requests[head].expiresAt < time { endOldest() }
    }

    /// Lets every open request hold no slot of a shared budget.
    mutating func unbudgetAll() {
        for index in requests.indices[head...] where requests[index].budgeted && !requests[index].ended {
            requests[index].budgeted = false
            unbudgeted += requests[index].remaining
        }
    }

    /// Stops counting the messages request `index` still asks for.
    private mutating func forget(_ index: Int) {
        outstanding -= requests[index].remaining
        if !requests[index].budgeted { unbudgeted -= requests[index].remaining }
        requests[index].remaining = 0
    }

    private mutating func dropOldest() {
        head += 1
        while head < requests.count && requests[head].ended { head += 1 }
        if head == requests.count {
            requests.removeAll(keepingCapacity: true)
            head = 0
        }
    }
}
