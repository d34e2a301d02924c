import CNats
import Logging
import Synchronization

/// State shared with nats.c's connection callbacks (disconnected, reconnected, closed, async errors).
/// Passed to nats.c as an unmanaged pointer; released by the closed callback.
final class ConnectionEvents: Sendable {
    let logger: Logger
    let serverList: String

    private struct State {
        var listener: (@Sendable (PermissionViolation) -> Void)?
        /// The latest violations: when each was reported (monotonic ns) and its number (1, 2, ...).
        var recentViolations: [(at: UInt64, number: UInt64, violation: PermissionViolation)] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let closedSignal = ConditionLock()
    private nonisolated(unsafe) var closedFlag = false  // guarded by closedSignal

    /// Where this connection's permission violations are recorded and announced: itself, or the events of the
    /// connection it is a sibling of (``BatchedConnection``), so that one set of listeners hears both.
    private let violationsTarget: ConnectionEvents?

    /// Signs nonces for NKey and `.creds` authentication (nats.c calls it while the connection lives).
    let signer: NonceSigner?

    init(
        logger: Logger, serverList: String, violationsGoTo target: ConnectionEvents? = nil,
        signer: NonceSigner? = nil
    ) {
        self.signer = signer
        self.logger = logger
        self.serverList = serverList
        self.violationsTarget = target
    }

    /// How many permission violations were reported so far: a running batch compares it between turns
    /// (``violations(after:)``), which costs it no listener.
    private let reported = Atomic<UInt64>(0)

    /// Sets the connection's one permission listener, called (on a nats.c thread) for every violation the server
    /// reports (``NATSClient`` hands each to the shared publisher and the processing hub).
    func setPermissionListener(_ listener: @escaping @Sendable (PermissionViolation) -> Void) {
        state.withLock { $0.listener = listener }
    }

    /// The number of violations reported so far.
    var violationsReported: UInt64 { reported.load(ordering: .acquiring) }

    /// The recent violations numbered after `number` (a value of ``violationsReported``), oldest first.
    func violations(after number: UInt64) -> [PermissionViolation] {
        state.withLock { state in state.recentViolations.filter { $0.number > number }.map(\.violation) }
    }

    /// The most recent violation reported at or after `since` (monotonic ns) that explains a timeout in `scope`
    /// (``PermissionViolation/explains(_:)``).
    func recentViolation(since: UInt64, explaining scope: PermissionViolation.Scope) -> PermissionViolation? {
        state.withLock { state in
            state.recentViolations.last { $0.at >= since && $0.violation.explains(scope) }?.violation
        }
    }

    func handleError(connection: OpaquePointer?, status: natsStatus) {
        var text: UnsafePointer<CChar>?
        if let connection { _ = natsConnection_GetLastError(connection, &text) }
        let message = text.map { String(cString: $0) } ?? String(cString: natsStatus_GetText(status))
        if status == NATS_NOT_PERMITTED, let violation = NATSErrorMapping.permissionViolation(fromText: message) {
            logger.warning(
                "NATS permission violation",
                metadata: ["protoqueue.subject": "\(violation.subject ?? "?")", "protoqueue.error": "\(message)"]
            )
            (violationsTarget ?? self).announce(violation)
        } else {
            logger.error(
                "NATS asynchronous error",
                metadata: ["protoqueue.natsStatus": "\(status.rawValue)", "protoqueue.error": "\(message)"]
            )
        }
    }

    /// Records a violation for ``recentViolation(since:explaining:)`` and ``violations(after:)``, and tells the
    /// listener.
    func announce(_ violation: PermissionViolation) {
        let now = MonotonicClock.nanoseconds()
        let listener = state.withLock { state in
            let number = reported.load(ordering: .relaxed) + 1
            state.recentViolations.append((now, number, violation))
            if state.recentViolations.count > 64 { state.recentViolations.removeFirst(32) }
            reported.store(number, ordering: .releasing)
            return state.listener
        }
        listener?(violation)
    }

    /// Set before the library drains the connection, so the disconnect that follows is not reported as a loss.
    private let closing = Atomic<Bool>(false)

    func markClosing() { closing.store(true, ordering: .relaxed) }

    func handleDisconnected(connection: OpaquePointer?) {
        if closing.load(ordering: .relaxed) {
            logger.debug(
                "NATS connection disconnected while closing", metadata: ["protoqueue.servers": "\(serverList)"])
            return
        }
        logger.warning("NATS connection lost; reconnecting", metadata: ["protoqueue.servers": "\(serverList)"])
    }

    func handleReconnected(connection: OpaquePointer?) {
        var buffer = [CChar](repeating: 0, count: 256)
        var url = serverList
        if let connection, natsConnection_GetConnectedUrl(connection, &buffer, buffer.count) == NATS_OK {
            url = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        logger.info("NATS connection re-established", metadata: ["protoqueue.server": "\(url)"])
    }

    func handleClosed() {
        logger.debug("NATS connection closed", metadata: ["protoqueue.servers": "\(serverList)"])
        closedSignal.withLock { closedFlag = true }
        closedSignal.broadcast()
    }

    /// Waits (on a library thread) until the closed callback ran or the deadline passed.
    func waitUntilClosed(timeout: Duration) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + UInt64(max(0, timeout.nanoseconds))
        closedSignal.lock()
        defer { closedSignal.unlock() }
        while !closedFlag {
            if !closedSignal.wait(untilNanoseconds: deadline) { return closedFlag }
        }
        return true
    }
}

// MARK: - C trampolines (run on nats.c threads)

let natsErrorTrampoline: natsErrHandler = { connection, _, status, closure in
    guard let closure else { return }
    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue().handleError(
        connection: connection, status: status)
}

let natsDisconnectedTrampoline: natsConnectionHandler = { connection, closure in
    guard let closure else { return }
    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue().handleDisconnected(connection: connection)
}

let natsReconnectedTrampoline: natsConnectionHandler = { connection, closure in
    guard let closure else { return }
    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue().handleReconnected(connection: connection)
}

/// The closed callback is the last one nats.c delivers for a connection: it also releases the events box.
let natsClosedTrampoline: natsConnectionHandler = { _, closure in
    guard let closure else { return }
    let events = Unmanaged<ConnectionEvents>.fromOpaque(closure)
    events.takeUnretainedValue().handleClosed()
    events.release()
}
