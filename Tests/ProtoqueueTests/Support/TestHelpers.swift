import Foundation
import Logging
import Protoqueue

/// A logger for tests: warnings and above to stderr.
func testLogger(_ label: String = "protoqueue.tests") -> Logger {
    var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
    logger.logLevel =
        ProcessInfo.processInfo.environment["PROTOQUEUE_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
    return logger
}

/// The configuration of a test connection to `url`: short timeouts.
func testConfiguration(
    _ url: String,
    authentication: NATSConnectionConfiguration.Authentication? = nil,
    requestTimeout: Duration = .seconds(5)
) -> NATSConnectionConfiguration {
    NATSConnectionConfiguration(
        servers: [url],
        name: "protoqueue-tests",
        authentication: authentication,
        connectTimeout: .seconds(2),
        requestTimeout: requestTimeout
    )
}

/// Connects the library to `url` with short timeouts suitable for tests.
func connect(
    _ url: String,
    authentication: NATSConnectionConfiguration.Authentication? = nil,
    requestTimeout: Duration = .seconds(5)
) async throws(ProtoqueueError) -> NATSConnection {
    try await NATSConnection.connect(
        testConfiguration(url, authentication: authentication, requestTimeout: requestTimeout), logger: testLogger())
}

/// Connects like ``connect(_:authentication:requestTimeout:)``, runs `body` with the connection and awaits its close
/// afterwards, also when `body` throws (``withNATSConnection(_:logger:_:)``).
func withConnection<R: Sendable>(
    _ url: String,
    authentication: NATSConnectionConfiguration.Authentication? = nil,
    _ body: (NATSConnection) async throws -> R
) async throws -> R {
    try await withNATSConnection(testConfiguration(url, authentication: authentication), logger: testLogger(), body)
}

/// A log handler that keeps messages, to check what the library logged.
struct CapturingLogHandler: LogHandler {
    final class Store: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
        var messages: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.append("\(event.level) \(event.message)")
    }
}
