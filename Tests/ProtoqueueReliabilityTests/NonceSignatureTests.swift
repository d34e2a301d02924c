import CNats
import Foundation
import NATSServerHarness
import Protoqueue
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Regression for the intermittent `Authorization Violation` on good NKey and `.creds` credentials.
///
/// nats.c before 3.10.0 base64-encodes the nonce signature with a helper that returns an empty string when the
/// first input byte is 0 (`src[0] == '\0'`, nats.c #705). An ed25519 signature starts with 0 for one nonce in 256,
/// so the CONNECT then carried no `sig` and the server refused it: `Authorization Violation`. The server picks a
/// new random nonce per connection, which made the failure intermittent. The library now signs nonces itself
/// (`NonceSigner`): such an attempt ends before its CONNECT and the library connects again, with a fresh nonce.
/// Here a fake server sends fixed nonces whose signatures under a fixed test seed do (and do not) start with 0,
/// and checks what comes back.
@Suite("Security: nonce signatures")
struct NonceSignatureTests {
    /// A test-only user seed (raw seed bytes 0...31) and its public key.
    static let seed = "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y"
    static let publicKey = "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK"

    /// The CONNECT lines the library sends to a fake server that offers `nonces`, one per connection (`nil` for a
    /// connection closed without a CONNECT), and the `sig` of each.
    static func connects(nonces: [String]) async throws -> [String?] {
        let directory = try NATSServerProcess.temporaryDirectory(prefix: "protoqueue-sig")
        defer { try? FileManager.default.removeItem(at: directory) }
        let seedFile = directory.appendingPathComponent("user.seed")
        try (seed + "\n").write(to: seedFile, atomically: true, encoding: .utf8)
        let server = try FakeAuthServer(nonces: nonces)
        let authentication = Auth.nkey(publicKey: publicKey, seedFile: seedFile.path)
        // The fake server refuses every CONNECT; only what the client sent matters.
        _ = try? await NATSConnection.connect(
            testConfiguration("nats://127.0.0.1:\(server.port)", authentication: authentication),
            logger: reliabilityLogger()
        )
        var signatures: [String?] = []
        for line in try await server.connectLines() {
            guard let line else {
                signatures.append(nil)
                continue
            }
            let json = try #require(line.split(separator: " ", maxSplits: 1).last.map { Data($0.utf8) })
            let fields = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
            #expect(fields["nkey"] as? String == publicKey, "\(line)")
            signatures.append(fields["sig"] as? String ?? "")
        }
        return signatures
    }

    /// Control: a nonce whose signature starts with 0x7a is signed and sent.
    @Test func nonceSignatureIsSent() async throws {
        let signatures = try await Self.connects(nonces: ["pq-nonce-000000"])
        #expect(signatures.count == 1)
        #expect(signatures.first??.count == 86, "a 64-byte signature is 86 base64url characters: \(signatures)")
    }

    /// The signature of the first nonce starts with 0x00 (nats.c 3.4.1 sent it empty): that attempt sends no
    /// CONNECT, and the next one, with a fresh nonce, sends its signature.
    @Test func aNonceSignatureStartingWithZeroIsNeverSentEmpty() async throws {
        let signatures = try await Self.connects(nonces: ["pq-nonce-000105", "pq-nonce-000000"])
        #expect(signatures.count == 2, "\(signatures)")
        #expect(signatures.first == .some(nil), "the first attempt sent a CONNECT: \(signatures)")
        #expect(signatures.last??.count == 86, "\(signatures)")
    }
}

/// A fake NATS server on 127.0.0.1 for one connection per nonce, in turn: sends an INFO that asks for a signature of
/// the nonce, reads the CONNECT line (if the client sends one before closing), answers
/// `-ERR 'Authorization Violation'` and closes. Its blocking socket work runs on a thread of its own.
final class FakeAuthServer: Sendable {
    let port: Int
    private let received = AsyncThrowingStream<[String?], any Error>.makeStream()

    init(nonces: [String]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, listen(fd, 4) == 0 else {
            close(fd)
            throw HarnessError("fake server: cannot listen on 127.0.0.1")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let infos = nonces.map { nonce in
            #"INFO {"server_id":"FAKE","version":"2.9.10","proto":1,"headers":true,"max_payload":1048576,"#
                + #""auth_required":true,"nonce":"\#(nonce)"}"# + "\r\n"
        }
        let continuation = received.continuation
        Thread.detachNewThread {
            defer { close(fd) }
            continuation.yield(with: Result { try infos.map { info in try Self.serveOnce(listener: fd, info: info) } })
            continuation.finish()
        }
    }

    /// Accepts one client (≤ 10 s), sends `info`, returns the first line it sends (`nil` if it closes first) and
    /// refuses it.
    private static func serveOnce(listener: Int32, info: String) throws -> String? {
        guard waitReadable(listener) else { throw HarnessError("fake server: no client within 10 s") }
        let client = accept(listener, nil, nil)
        guard client >= 0 else { throw HarnessError("fake server: accept failed (errno \(errno))") }
        defer { close(client) }
        _ = info.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !bytes.contains(UInt8(ascii: "\n")) {
            guard waitReadable(client) else { throw HarnessError("fake server: no CONNECT within 10 s") }
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            bytes += buffer[0..<count]
        }
        let refusal = "-ERR 'Authorization Violation'\r\n"
        _ = refusal.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        let line = bytes.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        return String(decoding: line, as: UTF8.self)
    }

    /// Waits (≤ 10 s) until `fd` is readable.
    private static func waitReadable(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 10_000) == 1
    }

    /// What each connection sent: its CONNECT line, or `nil`.
    func connectLines() async throws -> [String?] {
        for try await lines in received.stream { return lines }
        throw HarnessError("fake server: no connection")
    }
}
