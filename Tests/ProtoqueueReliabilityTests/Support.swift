import Foundation
import Logging
import NATSServerHarness
import Protoqueue
import TaskSchemas
import Testing

/// Environment of the reliability tests.
enum ReliabilityEnvironment {
    /// The package root (two levels above this file's directory).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Whether tests that start their own nats-server run: always under CI (a missing server then fails them).
    static var serverTestsEnabled: Bool { HarnessEnvironment.isCI || HarnessEnvironment.serverAvailable }

    /// Whether tests that need the Python virtual environment run: always under CI.
    static var pythonTestsEnabled: Bool {
        HarnessEnvironment.isCI
            || (serverTestsEnabled && (try? HarnessEnvironment.python(packageRoot: packageRoot)) != nil)
    }

    static var serverVersion: ServerVersion? {
        guard let binary = try? HarnessEnvironment.serverBinary() else { return nil }
        return try? HarnessEnvironment.serverVersion(binary)
    }
}

func reliabilityLogger() -> Logger {
    var logger = Logger(label: "protoqueue.reliability-tests", factory: { StreamLogHandler.standardError(label: $0) })
    logger.logLevel =
        ProcessInfo.processInfo.environment["PROTOQUEUE_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
    return logger
}

/// A configuration for tests: one URL, a few quick reconnect attempts. The connect timeout is long (30 s) on purpose:
/// a refused connection must fail on the server's answer, well before it (``fastFailureLimit``), even on a busy
/// 2-core machine running the whole suite in parallel.
func testConfiguration(
    _ url: String,
    authentication: NATSConnectionConfiguration.Authentication? = nil,
    tls: NATSConnectionConfiguration.TLS? = nil,
    requestTimeout: Duration = .seconds(3)
) -> NATSConnectionConfiguration {
    NATSConnectionConfiguration(
        servers: [url],
        name: "protoqueue-reliability-tests",
        authentication: authentication,
        tls: tls,
        reconnect: .init(maxAttempts: 5, wait: .milliseconds(200)),
        connectTimeout: .seconds(30),
        requestTimeout: requestTimeout
    )
}

/// How long a refused connect may take: a third of the connect timeout, so passing proves nothing waited for it.
/// (Alone these fail in milliseconds; the margin is for the whole suite running in parallel on 2 cores.)
let fastFailureLimit = 10.0

/// Seconds since `start`.
func elapsed(since start: ContinuousClock.Instant) -> Double {
    let duration = ContinuousClock.now - start
    return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Runs `body`, which must throw a ``ProtoqueueError`` with one of `codes` within `within` seconds.
@discardableResult
func expectTypedFailure<T>(
    _ codes: Set<ProtoqueueError.Code>,
    within: Double,
    _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws(ProtoqueueError) -> T
) async -> ProtoqueueError? {
    let start = ContinuousClock.now
    do {
        _ = try await body()
        Issue.record("\(what): succeeded, expected \(codes.map(\.name).sorted())", sourceLocation: sourceLocation)
        return nil
    } catch {
        let seconds = elapsed(since: start)
        #expect(codes.contains(error.code), "\(what): \(error)", sourceLocation: sourceLocation)
        #expect(
            seconds < within, "\(what): took \(seconds) s (limit \(within) s): \(error)", sourceLocation: sourceLocation
        )
        return error
    }
}

/// A small valid task.
func sampleEmail(_ index: Int = 0) -> EmailTask {
    var task = EmailTask()
    task.to = "user\(index)@example.com"
    task.subject = "Hello \(index)"
    task.templateID = "welcome-v3"
    return task
}

/// Connects, opens a queue, enqueues one task and checks the receipt: proof that the credentials work end to end.
func connectAndEnqueue(_ configuration: NATSConnectionConfiguration, queue name: String) async throws -> EnqueueReceipt
{
    try await withNATSConnection(configuration, logger: reliabilityLogger()) { connection in
        let queue = try await Queue<EmailTask>(connection: connection, name: name, logger: reliabilityLogger())
        return try await queue.enqueue(sampleEmail())
    }
}

/// Operator, accounts, users and NKeys made by Tests/ProtoqueueReliabilityTests/python/make_credentials.py.
struct GeneratedCredentials: Decodable {
    struct Operator: Decodable { var `public`: String; var jwt_file: String }
    struct Account: Decodable { var `public`: String; var jwt: String }
    struct User: Decodable { var `public`: String; var creds: String }
    struct NKey: Decodable { var `public`: String; var seed_file: String }
    var `operator`: Operator
    var accounts: [String: Account]
    var users: [String: User]
    var nkeys: [String: NKey]

    static func generate(into directory: URL) throws -> GeneratedCredentials {
        let python = try HarnessEnvironment.python(packageRoot: ReliabilityEnvironment.packageRoot)
        let script = ReliabilityEnvironment.packageRoot.appendingPathComponent(
            "Tests/ProtoqueueReliabilityTests/python/make_credentials.py"
        ).path
        let outputFile = directory.appendingPathComponent("credentials.json")
        let (status, output) = try HarnessEnvironment.runTool(
            "/bin/sh", ["-c", "'\(python)' '\(script)' '\(directory.path)' > '\(outputFile.path)'"])
        guard status == 0 else {
            throw HarnessError(
                "make_credentials.py failed (is the nkeys package installed? scripts/python-requirements.txt): "
                    + "\(output)"
            )
        }
        return try JSONDecoder().decode(GeneratedCredentials.self, from: Data(contentsOf: outputFile))
    }

    /// Server configuration for operator mode with a memory resolver preloaded with accounts A, B and SYS.
    var serverConfiguration: String {
        """
        operator: "\(self.operator.jwt_file)"
        system_account: \(accounts["SYS"]!.public)
        resolver: MEMORY
        resolver_preload: {
          \(accounts.values.map { "\($0.public): \"\($0.jwt)\"" }.joined(separator: "\n  "))
        }

        """
    }
}
