import CNats
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ProcessingHub {
    /// After the hub thread was stopped (``HubStall``), waits until every delivery the server sent before now went
    /// through ``received(_:)``, so that no pull request sent after the stop makes them look fresh: the server
    /// answers a PING on the deliveries' connection after them, and then they are queued in the subscription or
    /// being handled. At most about one request timeout; nothing while the connection is not connected (nothing
    /// arrives then).
    func readWhatCameDuringTheStop() {
        guard natsConnection_Status(rawConnection) == NATS_CONN_STATUS_CONNECTED else { return }
        let timeout = max(1, requestTimeout.milliseconds)
        let deadline = MonotonicClock.nanoseconds() + UInt64(timeout) * 1_000_000
        guard natsConnection_FlushTimeout(rawConnection, timeout) == NATS_OK else { return }
        // Read before the queue's length: a delivery the handler takes in between is then counted at most once.
        // Read after, it could be counted twice (in the queue and as started), and the wait below would hold the
        // thread, with every acknowledgement and pull request of the connection, until the deadline.
        let started = receiving.started.load(ordering: .acquiring)
        var queued: Int32 = 0
        guard natsSubscription_GetPending(subscription, &queued, nil) == NATS_OK else { return }
        let target = started + UInt64(max(0, queued))
        var pause = timespec(tv_sec: 0, tv_nsec: 50_000)
        while receiving.finished.load(ordering: .acquiring) < target && MonotonicClock.nanoseconds() < deadline {
            nanosleep(&pause, nil)
        }
        logger.debug(
            "the processing thread was stopped; read what the server sent meanwhile before new pull requests",
            metadata: ["protoqueue.queued": "\(queued)"])
    }
}

/// How many deliveries and statuses the hub's handler has started and finished handling.
struct ReceiveCounts: ~Copyable, Sendable {
    let started = Atomic<UInt64>(0)
    let finished = Atomic<UInt64>(0)
}
