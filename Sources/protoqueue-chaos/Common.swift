import Foundation
import Logging
import Protoqueue
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The queue configuration runner and workers share (provisioning refuses a mismatch).
func chaosQueueConfiguration(replicas: Int, maxDeliveries: Int, ackWait: Duration) -> QueueConfiguration {
    var configuration = QueueConfiguration(
        replicas: replicas,
        duplicateWindow: .seconds(600),
        consumer: .init(ackWait: ackWait, maxDeliveries: maxDeliveries, maxAckPending: 2000)
    )
    configuration.retry = .fixed(.milliseconds(100))
    return configuration
}

/// A connection that keeps reconnecting (faults are temporary in every scenario).
func chaosConnectionConfiguration(_ servers: [String], name: String) -> NATSConnectionConfiguration {
    NATSConnectionConfiguration(
        servers: servers,
        name: name,
        reconnect: .init(maxAttempts: nil, wait: .milliseconds(250), jitter: .milliseconds(100)),
        connectTimeout: .seconds(2),
        requestTimeout: .seconds(3)
    )
}

func chaosLogger(_ label: String) -> Logger {
    var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
    logger.logLevel =
        ProcessInfo.processInfo.environment["PROTOQUEUE_CHAOS_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .error
    return logger
}

/// Appends one line per processed task id to a file, with one write(2) per line (O_APPEND), so a worker killed
/// with SIGKILL loses nothing it wrote.
final class LedgerFile: Sendable {
    private let fd: Mutex<Int32>

    init(path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else {
            throw ChaosError("cannot open ledger \(path): \(String(cString: strerror(errno)))")
        }
        fd = Mutex(descriptor)
    }

    func append(_ entry: LedgerEntry) {
        let line = Array((entry.line + "\n").utf8)
        fd.withLock { descriptor in
            _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        }
    }
}

/// One delivery a worker ran: `<id> <stream sequence> <started, Unix ms> <due, Unix ms: its tick or not-before
/// time, 0 for none>`.
struct LedgerEntry: Hashable {
    var id: String
    var sequence: UInt64
    var startedAt: Int64
    var due: Int64

    var line: String { "\(id) \(sequence) \(startedAt) \(due)" }

    init(id: String, sequence: UInt64, startedAt: Int64, due: Int64) {
        self.id = id
        self.sequence = sequence
        self.startedAt = startedAt
        self.due = due
    }

    /// Reads a ledger line; `nil` for a torn one.
    init?(line: Substring) {
        let fields = line.split(separator: " ")
        guard fields.count == 4, let sequence = UInt64(fields[1]), let startedAt = Int64(fields[2]),
            let due = Int64(fields[3])
        else { return nil }
        self.init(id: String(fields[0]), sequence: sequence, startedAt: startedAt, due: due)
    }
}

struct ChaosError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Seconds since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let duration = ContinuousClock.now - start
    return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
