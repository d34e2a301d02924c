import CNats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A synchronous subscription on `<inbox>.*` where the server acknowledges one batch's publishes. A task published
/// with reply subject `<inbox>.<position>` is acknowledged on that subject, so the acknowledgement names its task.
///
/// Only the batch thread reads it, so no other thread handles an acknowledgement: nats.c's reader queues it and wakes
/// the batch thread only while that thread waits in `natsSubscription_NextMsg`. To be woken once per run of
/// acknowledgements rather than once per acknowledgement, ``take(into:wakeAt:deadline:)`` waits there for the first
/// one only, then sleeps in short steps while more arrive.
final class AcknowledgementInbox: @unchecked Sendable {  // used by the batch thread only
    /// `<inbox>.`, the prefix of every reply subject.
    private let prefix: [UInt8]
    private let subscription: OpaquePointer  // natsSubscription*
    /// Why the subscription ended (connection closed or drained), once it has: no acknowledgement will arrive.
    private(set) var lost: natsStatus?
    /// "No responders" answers read and not yet taken (``takeNoStreamAnswers()``). nats.c reads such an answer for
    /// the caller and drops it, so which publish it answered is not known.
    private var noStreamAnswers = 0

    /// Subscribes on a new inbox. Acknowledgements are never dropped for lack of room (no pending limit): the
    /// batch's window bounds how many can be outstanding.
    /// - Parameter connection: The `natsConnection*` the batch publishes on.
    init(connection: OpaquePointer) throws(ProtoqueueError) {
        let name = try NATSInbox.makeName(for: "the batch's acknowledgement inbox")
        prefix = Array(name.utf8) + [UInt8(ascii: ".")]
        subscription = try NATSInbox.subscribe(
            connection, to: name + ".*", purpose: "the batch's acknowledgement inbox")
    }

    /// The reply subject for the task at `position`.
    func reply(for position: Int) -> ReplySubject { ReplySubject(prefix: prefix, token: position) }

    /// The position an acknowledgement's subject names, or `nil` if it names none.
    func position(of message: OwnedMessage) -> Int? { Self.position(of: message.pointer, prefix: prefix) }

    /// The number that ends the subject of `message` after `prefix` (`<inbox>.`), or `nil` if there is none.
    static func position(of message: OpaquePointer, prefix: [UInt8]) -> Int? {
        guard let subject = natsMsg_GetSubject(message) else { return nil }
        return prefix.withUnsafeBufferPointer { prefix -> Int? in
            for offset in 0..<prefix.count where UInt8(bitPattern: subject[offset]) != prefix[offset] { return nil }
            var end = prefix.count
            while subject[end] != 0 {
                guard end - prefix.count < 18 else { return nil }
                end += 1
            }
            let token = UnsafeRawPointer(subject + prefix.count).assumingMemoryBound(to: UInt8.self)
            return DecimalDigits.value(UnsafeBufferPointer(start: token, count: end - prefix.count)).map { Int($0) }
        }
    }

    /// Moves the acknowledgements received so far into `messages` (the caller destroys them). While there are fewer
    /// than `wakeAt`, waits until there are, the subscription ends, or `deadline` (monotonic ns) passes; `wakeAt` 0
    /// never waits.
    func take(into messages: inout [OwnedMessage], wakeAt: Int, deadline: UInt64) {
        drain(into: &messages)
        guard messages.count < wakeAt, lost == nil else { return }
        // Block for the first acknowledgement (nats.c's reader wakes this thread for it)...
        let now = MonotonicClock.nanoseconds()
        guard deadline > now else { return }
        guard read(into: &messages, timeoutMilliseconds: Int64((deadline - now + 999_999) / 1_000_000)) else { return }
        // ...then let the rest of the run arrive in short sleeps, each ending with the ones queued meanwhile.
        var step: UInt64 = 100_000
        while messages.count < wakeAt, lost == nil {
            let now = MonotonicClock.nanoseconds()
            guard deadline > now else { return }
            let before = messages.count
            var pause = timespec(tv_sec: 0, tv_nsec: Int(min(step, deadline - now)))
            nanosleep(&pause, nil)
            drain(into: &messages)
            // Nothing came: the server is slow or stalled; sleep longer (at most 5 ms) rather than spin.
            step = messages.count == before ? min(step * 2, 5_000_000) : 100_000
        }
    }

    /// The "no responders" answers read since the last call: publishes that no stream took.
    func takeNoStreamAnswers() -> Int {
        defer { noStreamAnswers = 0 }
        return noStreamAnswers
    }

    /// Unsubscribes; `owner` frees the subscription later (``NATSClient/retire(_:)``: late acknowledgements of
    /// re-sent tasks may still be arriving).
    func close(retiringWith owner: NATSClient) {
        owner.retire(subscription)
    }

    /// Takes every acknowledgement already queued, without waiting.
    private func drain(into messages: inout [OwnedMessage]) {
        while lost == nil, read(into: &messages, timeoutMilliseconds: 0) {}
    }

    /// Reads one acknowledgement (`timeoutMilliseconds` 0: only if one is queued); `false` if none came.
    private func read(into messages: inout [OwnedMessage], timeoutMilliseconds: Int64) -> Bool {
        var message: OpaquePointer?
        let status = natsSubscription_NextMsg(&message, subscription, timeoutMilliseconds)
        switch status {
        case NATS_OK:
            guard let message else { return false }
            messages.append(OwnedMessage(pointer: message))
            return true
        case NATS_NO_RESPONDERS:
            noStreamAnswers += 1
            return true
        case NATS_TIMEOUT, NATS_SLOW_CONSUMER:
            // A slow-consumer report cannot happen without a pending limit; dropped acknowledgements would only
            // make their tasks be sent again.
            return false
        default:
            lost = status
            return false
        }
    }
}
