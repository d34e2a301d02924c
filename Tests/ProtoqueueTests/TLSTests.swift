import Foundation
import NATSServerHarness
import Testing

@testable import Protoqueue

/// Certificates made with the openssl command for one test run: a CA, a server certificate for 127.0.0.1 /
/// `localhost`, a client certificate, and an unrelated CA.
struct TestCertificates {
    let directory: URL
    var ca: String { directory.appendingPathComponent("ca.pem").path }
    var otherCA: String { directory.appendingPathComponent("other-ca.pem").path }
    var serverCert: String { directory.appendingPathComponent("server.pem").path }
    var serverKey: String { directory.appendingPathComponent("server-key.pem").path }
    var clientCert: String { directory.appendingPathComponent("client.pem").path }
    var clientKey: String { directory.appendingPathComponent("client-key.pem").path }

    static var opensslAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") }

    static func make() async throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "protoqueue-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let d = directory.path
        let script = """
            set -e
            cd '\(d)'
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj '/CN=Protoqueue Test CA' -keyout ca-key.pem -out ca.pem 2>/dev/null
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj '/CN=Other CA' \
            -keyout other-ca-key.pem -out other-ca.pem 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' \
            -keyout server-key.pem -out server.csr 2>/dev/null
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
            -extfile server.ext -out server.pem 2>/dev/null
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=protoqueue-client' \
            -keyout client-key.pem -out client.csr 2>/dev/null
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
            -extfile client.ext -out client.pem 2>/dev/null
            """
        let result = try await PythonPeer.run(["sh", "-c", script], timeout: 60)
        guard result.status == 0 else { throw HarnessError("openssl failed: \(result.stderr)") }
        return TestCertificates(directory: directory)
    }
}

@Suite(
    "TLS",
    .enabled(
        if: TestEnvironment.privateServerTestsEnabled && (TestEnvironment.isCI || TestCertificates.opensslAvailable),
        "needs nats-server and openssl")
)
struct TLSTests {
    @Test func serverVerifiedWithCAFileAndRejectedWithAnotherCA() async throws {
        let certificates = try await TestCertificates.make()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        try await withNATSServer(
            configuration: """
                tls { cert_file: "\(certificates.serverCert)", key_file: "\(certificates.serverKey)" }
                """
        ) { server in
            let url = "tls://127.0.0.1:\(server.port)"

            let connection = try await NATSConnection.connect(
                .init(servers: [url], tls: .init(caFile: certificates.ca)), logger: testLogger())
            let queue = try await Queue<InteropTask>(connection: connection, name: "tls", logger: testLogger())
            #expect(try await queue.enqueue(InteropTask(to: "over tls")).sequence == 1)
            await connection.close()

            do throws(ProtoqueueError) {
                _ = try await NATSConnection.connect(
                    .init(servers: [url], tls: .init(caFile: certificates.otherCA)), logger: testLogger())
                Issue.record("connected although the server's certificate is not signed by the trusted CA")
            } catch {
                #expect(error.code == .tlsFailed || error.code == .connectionFailed, "\(error)")
            }

            do throws(ProtoqueueError) {
                _ = try await NATSConnection.connect(
                    .init(
                        servers: [url],
                        tls: .init(caFile: certificates.ca, expectedHostname: "not-the-server.example")),
                    logger: testLogger()
                )
                Issue.record("connected although the expected host name does not match the certificate")
            } catch {
                #expect(error.code == .tlsFailed || error.code == .connectionFailed, "\(error)")
            }
        }
    }

    @Test func mutualTLSNeedsTheClientCertificate() async throws {
        let certificates = try await TestCertificates.make()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        try await withNATSServer(
            configuration: """
                tls {
                  cert_file: "\(certificates.serverCert)", key_file: "\(certificates.serverKey)"
                  ca_file: "\(certificates.ca)", verify: true
                }
                """
        ) { server in
            let url = "tls://127.0.0.1:\(server.port)"
            do throws(ProtoqueueError) {
                _ = try await NATSConnection.connect(
                    .init(servers: [url], tls: .init(caFile: certificates.ca)), logger: testLogger())
                Issue.record("connected to a mutual-TLS server without a client certificate")
            } catch {
                #expect([.tlsFailed, .connectionFailed, .authenticationFailed].contains(error.code), "\(error)")
            }
            let connection = try await NATSConnection.connect(
                .init(
                    servers: [url],
                    tls: .init(
                        caFile: certificates.ca, clientCertificateFile: certificates.clientCert,
                        clientKeyFile: certificates.clientKey)),
                logger: testLogger()
            )
            await connection.close()

            do throws(ProtoqueueError) {
                _ = try await NATSConnection.connect(
                    .init(servers: [url], tls: .init(caFile: "/nonexistent/ca.pem")),
                    logger: testLogger()
                )
                Issue.record("accepted a CA file that does not exist")
            } catch {
                #expect(error.code == .tlsFailed, "\(error)")
            }
        }
    }
}

@Suite(
    "NKey authentication",
    .enabled(
        if: TestEnvironment.privateServerTestsEnabled && (TestEnvironment.isCI || TestCertificates.opensslAvailable),
        "needs nats-server and openssl")
)
struct NKeyTests {
    static func makeKey() async throws -> (publicKey: String, seedFile: String, directory: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "protoqueue-nkey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = PythonPeer.repositoryRoot.appendingPathComponent("Tests/ProtoqueueTests/Fixtures/make_nkey.py")
            .path
        let result = try await PythonPeer.run(["python3", script, directory.path], timeout: 30)
        guard result.status == 0 else { throw HarnessError("make_nkey.py failed: \(result.stderr)") }
        return (
            result.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            directory.appendingPathComponent("user.nk").path, directory
        )
    }

    @Test func nkeySeedFileAuthenticates() async throws {
        let user = try await Self.makeKey()
        let stranger = try await Self.makeKey()
        defer {
            try? FileManager.default.removeItem(at: user.directory)
            try? FileManager.default.removeItem(at: stranger.directory)
        }
        #expect(user.publicKey.hasPrefix("U") && user.publicKey.count == 56)
        try await withNATSServer(
            configuration: """
                authorization { users = [ { nkey: "\(user.publicKey)" } ] }
                """
        ) { server in
            let connection = try await connect(
                server.url, authentication: .nkey(publicKey: user.publicKey, seedFile: user.seedFile))
            let queue = try await Queue<InteropTask>(connection: connection, name: "nkey", logger: testLogger())
            #expect(try await queue.enqueue(InteropTask(to: "signed")).sequence == 1)
            await connection.close()
            do throws(ProtoqueueError) {
                _ = try await connect(
                    server.url, authentication: .nkey(publicKey: stranger.publicKey, seedFile: stranger.seedFile))
                Issue.record("an unknown NKey was accepted")
            } catch {
                #expect(error.code == .authenticationFailed, "\(error)")
            }
        }
    }
}
