/// The pull requests a processor has sent and the server has not yet fulfilled, oldest first.
///
/// A JetStream consumer serves waiting pull requests in the order they arrived, so each delivery counts against the
/// oldest open request. A request ends when all its messages came, when the server says it ended (a `408` when it
/// expires, a `409` when the server gives it up; both name the oldest open one, since every request has the same
/// expiry), or, when that status is lost (a reconnect), once its expiry plus a grace period has passed.
struct PullLedger {
    private struct Request {
        var remaining: Int
        var expiresAt: UInt64
    }

    /// Open requests; `requests[head...]` are the live ones.
    private var requests: [Request] = []
    private var head = 0
    /// Messages requested and not yet delivered, over every open request.
    private(set) var outstanding = 0

    /// Whether no request is open.
    var isEmpty: Bool { head == requests.count }

    /// Records a request for `count` messages that the server ends at `expiresAt` (monotonic ns).
    mutating func requested(_ count: Int, expiresAt: UInt64) {
        precondition(count > 0, "a pull request asks for at least one message")
        requests.append(Request(remaining: count, expiresAt: expiresAt))
        outstanding += count
    }

    /// Counts one delivery against the oldest open request; `false` if none was open (a delivery for a request
    /// this ledger had already given up).
    mutating func delivered() -> Bool {
        guard head < requests.count else { return false }
        requests[head].remaining -= 1
        outstanding -= 1
        if requests[head].remaining == 0 { dropOldest() }
        return true
    }

    /// Ends the oldest open request: the server reported that it expired or gave it up.
    mutating func endOldest() {
        guard head < requests.count else { return }
        outstanding -= requests[head].remaining
        dropOldest()
    }

    /// The expiry of the oldest open request (monotonic ns), or `nil` when none is open.
    var oldestExpiry: UInt64? { head < requests.count ? requests[head].expiresAt : nil }

    /// Ends every open request whose expiry is before `time` (monotonic ns).
    mutating func expire(before time: UInt64) {
        while head < requests.count, requests[head].expiresAt < time { endOldest() }
    }

    private mutating func dropOldest() {
        head += 1
        if head == requests.count {
            requests.removeAll(keepingCapacity: true)
            head = 0
        }
    }
}
