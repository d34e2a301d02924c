import Foundation
import NATSServerHarness

/// Environment of the test run.
enum TestEnvironment {
    static var isCI: Bool { HarnessEnvironment.isCI }
    static var externalURL: String? {
        ProcessInfo.processInfo.environment["NATS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether integration tests run. With `CI=true` they always run, so a missing server fails them.
    static var serverTestsEnabled: Bool { isCI || externalURL != nil || HarnessEnvironment.serverAvailable }
    /// Whether tests that need a private server with their own configuration run.
    static var privateServerTestsEnabled: Bool { isCI || HarnessEnvironment.serverAvailable }
}

/// The server shared by most integration tests: `NATS_URL` when set, else one private server for the whole run.
/// At exit the private server is stopped and its directory deleted; a server that is found dead then keeps its
/// directory (log and store) and its path is printed, since that is a crash to read about.
enum SharedServer {
    private static let state = NSLock()
    nonisolated(unsafe) private static var server: NATSServerProcess?
    nonisolated(unsafe) private static var failure: (any Error)?

    static func url() async throws -> String {
        try await offCooperativePool { try urlBlocking() }
    }

    private static func urlBlocking() throws -> String {
        if let external = TestEnvironment.externalURL { return external }
        state.lock()
        defer { state.unlock() }
        if let server { return server.url }
        if let failure { throw failure }
        do {
            let started = try NATSServerProcess()
            server = started
            atexit { SharedServer.stopAndRemove() }
            return started.url
        } catch {
            failure = error
            throw error
        }
    }

    private static func stopAndRemove() {
        guard let server = state.withLock({ server }) else { return }
        if server.isRunning {
            server.stopAndRemove()
        } else {
            FileHandle.standardError.write(
                Data("the shared nats-server had exited; kept \(server.directory.path)\n".utf8))
        }
    }
}

/// A unique name for per-test streams.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
}
