import Foundation
import NATSServerHarness
import Testing

/// The nats-server launcher itself.
@Suite(
    "Harness: nats-server launcher",
    .enabled(if: ReliabilityEnvironment.serverTestsEnabled, "no nats-server (CI=true makes this fail)")
)
struct HarnessTests {
    /// A server asked for a port that another process listens on fails and says the port is in use (with a port
    /// the harness picked itself, that is the case in which it picks another one).
    @Test func serverOnATakenPortFailsAsPortInUse() async throws {
        let listener = LoopbackSocket(listeningWithBacklog: 1)
        defer { listener.close() }
        try #require(listener.isListening)
        let port = listener.port
        do {
            let server = try await offCooperativePool { try NATSServerProcess(port: port) }
            await server.shutDown(removingDirectory: true)
            Issue.record("a server started on 127.0.0.1:\(port), which another socket listens on")
        } catch let error as HarnessError {
            #expect(error.isPortInUse, "\(error)")
        }
    }
}
