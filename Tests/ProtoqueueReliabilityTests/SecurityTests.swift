import Foundation
import NATSServerHarness
import Protoqueue
import TaskSchemas
import Testing

typealias Auth = NATSConnectionConfiguration.Authentication

/// Every authentication method against a nats-server configured for it by the test: good credentials connect and
/// enqueue; wrong or missing ones fail fast with a typed error.
@Suite(
    "Security: authentication methods",
    .enabled(if: ReliabilityEnvironment.serverTestsEnabled, "no nats-server (CI=true makes this fail)"))
struct AuthenticationTests {
    /// Good credentials enqueue; each wrong one and no credentials fail with `authenticationFailed` well before the
    /// connect timeout.
    func checkMatrix(server: NATSServerProcess, good: Auth, wrong: [(String, Auth)], queue: String) async throws {
        let receipt = try await connectAndEnqueue(testConfiguration(server.url, authentication: good), queue: queue)
        #expect(receipt.sequence == 1 && !receipt.duplicate)
        for (label, credentials) in wrong {
            let error = await expectTypedFailure(
                [.authenticationFailed], within: fastFailureLimit, "\(label) credentials"
            ) { () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration(server.url, authentication: credentials), logger: reliabilityLogger())
            }
            #expect(error?.message.lowercased().contains("authorization") == true, "\(String(describing: error))")
        }
        await expectTypedFailure([.authenticationFailed], within: fastFailureLimit, "missing credentials") {
            () throws(ProtoqueueError) in
            try await NATSConnection.connect(testConfiguration(server.url), logger: reliabilityLogger())
        }
    }

    @Test func userAndPassword() async throws {
        try await withNATSServer(
            configuration: "authorization { users = [ {user: worker, password: \"correct-horse-battery\"} ] }\n"
        ) { server in
            try await checkMatrix(
                server: server,
                good: .userPassword(user: "worker", password: "correct-horse-battery"),
                wrong: [
                    ("wrong password", .userPassword(user: "worker", password: "correct-horse-battery!")),
                    ("unknown user", .userPassword(user: "intruder", password: "correct-horse-battery")),
                    ("token instead of password", .token("correct-horse-battery")),
                ],
                queue: "auth_userpass"
            )
        }
    }

    @Test func token() async throws {
        try await withNATSServer(configuration: "authorization { token: \"t0k3n-for-tests\" }\n") { server in
            try await checkMatrix(
                server: server,
                good: .token("t0k3n-for-tests"),
                wrong: [
                    ("wrong token", .token("t0k3n-for-test")),
                    (
                        "user/password instead of token",
                        .userPassword(user: "t0k3n-for-tests", password: "t0k3n-for-tests")
                    ),
                ],
                queue: "auth_token"
            )
        }
    }

    @Test(.enabled(if: ReliabilityEnvironment.pythonTestsEnabled, "no .venv with nkeys (CI=true makes this fail)"))
    func nkey() async throws {
        let directory = try NATSServerProcess.temporaryDirectory(prefix: "protoqueue-nkey")
        defer { try? FileManager.default.removeItem(at: directory) }
        let credentials = try GeneratedCredentials.generate(into: directory)
        let user = try #require(credentials.nkeys["nkeyUser"])
        let stranger = try #require(credentials.nkeys["nkeyStranger"])
        try await withNATSServer(configuration: "authorization { users = [ {nkey: \(user.public)} ] }\n") { server in
            try await checkMatrix(
                server: server,
                good: .nkey(publicKey: user.public, seedFile: user.seed_file),
                wrong: [
                    (
                        "an NKey the server does not know",
                        .nkey(publicKey: stranger.public, seedFile: stranger.seed_file)
                    ),
                    // Claims the known public key but signs the nonce with another seed.
                    ("known public key, wrong seed", .nkey(publicKey: user.public, seedFile: stranger.seed_file)),
                ],
                queue: "auth_nkey"
            )
        }
    }

    @Test func nkeySeedFileThatDoesNotExistIsATypedError() async throws {
        try await withNATSServer(
            configuration:
                "authorization { users = [ {nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4} ] }\n"
        ) { server in
            let error = await expectTypedFailure(
                [.authenticationFailed, .invalidConfiguration], within: fastFailureLimit, "missing seed file"
            ) { () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration(
                        server.url,
                        authentication: .nkey(
                            publicKey: "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4",
                            seedFile: "/nonexistent/user.seed")),
                    logger: reliabilityLogger()
                )
            }
            #expect(error?.message.contains("/nonexistent/user.seed") == true, "\(String(describing: error))")
        }
    }

    @Test(.enabled(if: ReliabilityEnvironment.pythonTestsEnabled, "no .venv with nkeys (CI=true makes this fail)"))
    func credentialsFileWithOperatorAccountAndUserJWTs() async throws {
        let directory = try NATSServerProcess.temporaryDirectory(prefix: "protoqueue-jwt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let credentials = try GeneratedCredentials.generate(into: directory)
        try await withNATSServer(configuration: credentials.serverConfiguration, directory: directory) { server in
            try await checkMatrix(
                server: server,
                good: .credentialsFile(credentials.users["userA"]!.creds),
                wrong: [
                    (
                        "user of an account the server does not know",
                        .credentialsFile(credentials.users["stranger"]!.creds)
                    ),
                    ("forged user JWT", .credentialsFile(credentials.users["forged"]!.creds)),
                ],
                queue: "auth_jwt"
            )
            let error = await expectTypedFailure(
                [.authenticationFailed, .invalidConfiguration], within: fastFailureLimit, "unreadable .creds"
            ) { () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration(server.url, authentication: .credentialsFile("/nonexistent/user.creds")),
                    logger: reliabilityLogger())
            }
            #expect(error?.message.contains("/nonexistent/user.creds") == true, "\(String(describing: error))")
        }
    }

    @Test(.enabled(if: ReliabilityEnvironment.pythonTestsEnabled, "no .venv with nkeys (CI=true makes this fail)"))
    func twoAccountsDoNotSeeEachOthersStreams() async throws {
        let directory = try NATSServerProcess.temporaryDirectory(prefix: "protoqueue-accounts")
        defer { try? FileManager.default.removeItem(at: directory) }
        let credentials = try GeneratedCredentials.generate(into: directory)
        try await withNATSServer(configuration: credentials.serverConfiguration, directory: directory) { server in

            let a = try await NATSConnection.connect(
                testConfiguration(server.url, authentication: .credentialsFile(credentials.users["userA"]!.creds)),
                logger: reliabilityLogger())
            let b = try await NATSConnection.connect(
                testConfiguration(server.url, authentication: .credentialsFile(credentials.users["userB"]!.creds)),
                logger: reliabilityLogger())
            let queueA = try await Queue<EmailTask>(connection: a, name: "isolated", logger: reliabilityLogger())
            for index in 0..<3 { _ = try await queueA.enqueue(sampleEmail(index), options: .init(id: "a-\(index)")) }
            // The same queue name in account B is a different stream, empty, and B's enqueue does not reach A.
            let queueB = try await Queue<EmailTask>(connection: b, name: "isolated", logger: reliabilityLogger())
            #expect(try await queueB.stats().messages == 0)
            let receipt = try await queueB.enqueue(sampleEmail(9), options: .init(id: "a-0"))
            #expect(receipt.sequence == 1 && !receipt.duplicate, "A's message id must not deduplicate B's publish")
            #expect(try await queueA.stats().messages == 3)
            #expect(try await queueB.stats().messages == 1)
            await a.close()
            await b.close()
        }
    }
}

/// TLS with a CA and a hostname check, and mutual TLS, with certificates made during the test.
@Suite(
    "Security: TLS", .enabled(if: ReliabilityEnvironment.serverTestsEnabled, "no nats-server (CI=true makes this fail)")
)
struct TLSTests {
    static func tlsBlock(
        _ certificates: TestCertificates, verifyClients: Bool, otherServerCertificate: Bool = false
    ) -> String {
        let cert = otherServerCertificate ? certificates.otherServerCertificate : certificates.serverCertificate
        let key = otherServerCertificate ? certificates.otherServerKey : certificates.serverKey
        return """
            tls {
              cert_file: "\(cert)"
              key_file: "\(key)"
              ca_file: "\(certificates.caFile)"
              verify: \(verifyClients)
              timeout: 2
            }

            """
    }

    @Test func serverAuthenticationWithCAAndHostnameCheck() async throws {
        let certificates = try TestCertificates.generate()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        try await withNATSServer(configuration: Self.tlsBlock(certificates, verifyClients: false)) { server in
            let url = "tls://127.0.0.1:\(server.port)"

            let good = try await connectAndEnqueue(
                testConfiguration(url, tls: .init(caFile: certificates.caFile, expectedHostname: "localhost")),
                queue: "tls_good")
            #expect(good.sequence == 1)
            // The URL's host name is checked when no expected host name is given.
            let byName = try await connectAndEnqueue(
                testConfiguration("tls://localhost:\(server.port)", tls: .init(caFile: certificates.caFile)),
                queue: "tls_byname")
            #expect(byName.sequence == 1)

            await expectTypedFailure([.tlsFailed], within: fastFailureLimit, "wrong expected host name") {
                () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration(
                        url, tls: .init(caFile: certificates.caFile, expectedHostname: "wrong.protoqueue.test")),
                    logger: reliabilityLogger())
            }
            await expectTypedFailure([.tlsFailed], within: fastFailureLimit, "untrusted CA") {
                () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration(url, tls: .init(caFile: certificates.otherCAFile, expectedHostname: "localhost")),
                    logger: reliabilityLogger())
            }
            await expectTypedFailure(
                [.tlsFailed], within: fastFailureLimit, "system trust store only (test CA unknown)"
            ) { () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration(url, tls: .init(expectedHostname: "localhost")), logger: reliabilityLogger())
            }
            // A plain client against a TLS-only server: refused, never downgraded.
            await expectTypedFailure([.tlsFailed], within: fastFailureLimit, "plaintext client to a TLS server") {
                () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration("nats://127.0.0.1:\(server.port)"), logger: reliabilityLogger())
            }
        }
    }

    @Test func certificateForAnotherHostIsRefusedWithoutAnExplicitHostname() async throws {
        let certificates = try TestCertificates.generate(serverNames: ["DNS:elsewhere.protoqueue.test"])
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        try await withNATSServer(configuration: Self.tlsBlock(certificates, verifyClients: false)) { server in
            await expectTypedFailure(
                [.tlsFailed], within: fastFailureLimit, "certificate for elsewhere.protoqueue.test, URL localhost"
            ) { () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration("tls://localhost:\(server.port)", tls: .init(caFile: certificates.caFile)),
                    logger: reliabilityLogger())
            }
            // Naming the certificate's host explicitly is the supported way to connect by address.
            let receipt = try await connectAndEnqueue(
                testConfiguration(
                    "tls://127.0.0.1:\(server.port)",
                    tls: .init(caFile: certificates.caFile, expectedHostname: "elsewhere.protoqueue.test")),
                queue: "tls_explicit"
            )
            #expect(receipt.sequence == 1)
        }
    }

    @Test func noPlaintextFallbackWhenTheServerHasNoTLS() async throws {
        let certificates = try TestCertificates.generate()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        try await withNATSServer { server in
            await expectTypedFailure([.tlsFailed], within: fastFailureLimit, "TLS client to a plaintext server") {
                () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration(
                        server.url, tls: .init(caFile: certificates.caFile, expectedHostname: "localhost")),
                    logger: reliabilityLogger())
            }
            await expectTypedFailure([.tlsFailed], within: fastFailureLimit, "tls:// URL to a plaintext server") {
                () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration("tls://127.0.0.1:\(server.port)"), logger: reliabilityLogger())
            }
        }
    }

    @Test func mutualTLS() async throws {
        let certificates = try TestCertificates.generate()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        try await withNATSServer(configuration: Self.tlsBlock(certificates, verifyClients: true)) { server in
            let url = "tls://127.0.0.1:\(server.port)"
            let receipt = try await connectAndEnqueue(
                testConfiguration(
                    url,
                    tls: .init(
                        caFile: certificates.caFile, clientCertificateFile: certificates.clientCertificate,
                        clientKeyFile: certificates.clientKey, expectedHostname: "localhost")),
                queue: "mtls_good"
            )
            #expect(receipt.sequence == 1)
            await expectTypedFailure(
                [.tlsFailed, .authenticationFailed], within: fastFailureLimit, "no client certificate"
            ) { () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration(url, tls: .init(caFile: certificates.caFile, expectedHostname: "localhost")),
                    logger: reliabilityLogger())
            }
            await expectTypedFailure(
                [.tlsFailed, .authenticationFailed], within: fastFailureLimit, "client certificate from an untrusted CA"
            ) { () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration(
                        url,
                        tls: .init(
                            caFile: certificates.caFile, clientCertificateFile: certificates.otherClientCertificate,
                            clientKeyFile: certificates.otherClientKey, expectedHostname: "localhost")),
                    logger: reliabilityLogger()
                )
            }
            await expectTypedFailure(
                [.tlsFailed, .invalidConfiguration], within: fastFailureLimit,
                "client key that does not match the certificate"
            ) { () throws(ProtoqueueError) in
                try await NATSConnection.connect(
                    testConfiguration(
                        url,
                        tls: .init(
                            caFile: certificates.caFile, clientCertificateFile: certificates.clientCertificate,
                            clientKeyFile: certificates.otherClientKey, expectedHostname: "localhost")),
                    logger: reliabilityLogger()
                )
            }
        }
    }
}
