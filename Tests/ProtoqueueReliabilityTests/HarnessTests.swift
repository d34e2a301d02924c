import Foundation
import NATSServerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The nats-server launcher itself.
@Suite(
    "Harness: nats-server launcher",
    .enabled(if: ReliabilityEnvironment.serverTestsEnabled, "no nats-server (CI=true makes this fail)")
)
struct HarnessTests {
    /// A server asked for a port that another process listens on fails and says the port is in use (with a port
    /// the harness picked itself, that is the case in which it picks another one).
    @Test func serverOnATakenPortFailsAsPortInUse() async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        try #require(listen(fd, 1) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        do {
            let server = try await offCooperativePool { try NATSServerProcess(port: port) }
            await server.shutDown(removingDirectory: true)
            Issue.record("a server started on 127.0.0.1:\(port), which another socket listens on")
        } catch let error as HarnessError {
            #expect(error.isPortInUse, "\(error)")
        }
    }
}
