import CNats
import Logging
import Synchronization

/// State shared with nats.c's connection callbacks (disconnected, reconnected, closed, async errors).
/// Passed to nats.c as an unmanaged pointer; released by the closed callback.
final class ConnectionEvents: Sendable {
    let logger: Logger
    let serverList: String

    private struct State {
        var listeners: [UInt64: @Sendable (PermissionViolation) -> Void] = [:]
        var nextListener: UInt64 = 0
        var recentViolations: [(at: UInt64, violation: PermissionViolation)] = []
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

    /// Registers a function called (on a nats.c thread) for every permission violation the server reports.
    func addPermissionListener(_ listener: @escaping @Sendable (PermissionViolation) -> Void) -> UInt64 {
        state.withLock { state in
            state.nextListener += 1
            state.listeners[state.nextListener] = listener
            return state.nextListener
        }
    }

    /// Removes a listener added by ``addPermissionListener(_:)``.
    func removePermissionListener(_ token: UInt64) {
        _ = state.withLock { $0.listeners.removeValue(forKey: token) }
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

    /// Records a violation for ``recentViolation(since:explaining:)`` and tells the listeners.
    func announce(_ violation: PermissionViolation) {
        let now = MonotonicClock.nanoseconds()
        let listeners = state.withLock { state in
            state.recentViolations.append((now, violation))
            if state.recentViolations.count > 64 { state.recentViolations.removeFirst(32) }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener(violation) }
    }

    /// Set before the library drains the connection, so the disconnect that follows is not reported as a loss.
    private let closing = Atomic<Bool>(false)

    func markClosing() { closing.store(true, ordering: .relaxed) }

    func handleDisconnected(connection: OpaquePointer?) {
        if closing.load(ordering: .relaxed) {
            logger.debug("NATS connection disconnected while closing", metadata: ["protoqueue.servers": "\(serverList)"])
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
    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue().handleError(connection: connection, status: status)
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
