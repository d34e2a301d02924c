import Foundation
import Logging
import NATSServerHarness
import Synchronization
import Testing

@testable import Protoqueue

@Suite("Connection, authentication and permissions")
struct ConnectionTests {
    @Test func unreachableServerFailsWithinTheConnectTimeoutNamingTheURL() async throws {
        let port = freeLoopbackPort()
        let url = "nats://127.0.0.1:\(port)"
        let started = ContinuousClock.now
        do {
            _ = try await NATSConnection.connect(
                .init(servers: [url], connectTimeout: .seconds(1)),
                logger: testLogger()
            )
            Issue.record("connected to a port nobody listens on")
        } catch {
            #expect(error.code == .connectionFailed)
            #expect(error.message.contains(url))
            #expect(error.message.contains("connect timeout 1.0 seconds"))
            // The library's own measurement of the connect attempt (nothing listens: refused at once).
            let reported = error.message.split(separator: "gave up after ").last.flatMap {
                Double($0.split(separator: " ").first ?? "")
            }
            #expect((reported ?? 99) <= 1.5, "\(error.message)")
        }
        // End to end only a hang detector: on a loaded shared machine the test's own task can wait for a CPU far
        // longer than the library takes (the library's own measurement is checked above).
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test func silentServerFailsAfterTheConnectTimeout() async throws {
        // A socket that accepts TCP connections but never speaks NATS: the client waits for INFO until the timeout.
        let listener = LoopbackSocket(listeningWithBacklog: 8)
        defer { listener.close() }
        try #require(listener.isListening)
        let url = "nats://127.0.0.1:\(listener.port)"
        let started = ContinuousClock.now
        do {
            _ = try await NATSConnection.connect(
                .init(servers: [url], connectTimeout: .milliseconds(800)), logger: testLogger())
            Issue.record("connected to a server that never answered")
        } catch {
            #expect(error.code == .connectionFailed, "\(error)")
            #expect(error.message.contains(url))
            // The library's own measurement of the attempt: it waited for the timeout, and not much longer.
            let reported = error.message.split(separator: "gave up after ").last.flatMap {
                Double($0.split(separator: " ").first ?? "")
            }
            #expect((reported ?? 0) >= 0.7 && (reported ?? 99) <= 2.0, "\(error.message)")
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(700), "gave up before the connect timeout: \(elapsed)")
        #expect(elapsed < .seconds(60), "hang detector: \(elapsed)")
    }

    @Test func invalidConfigurationIsRejected() async {
        for configuration in [
            NATSConnectionConfiguration(servers: []),
            NATSConnectionConfiguration(servers: ["nats://127.0.0.1:4222 x"]),
            NATSConnectionConfiguration(connectTimeout: .zero),
            NATSConnectionConfiguration(tls: .init(clientCertificateFile: "/tmp/cert.pem")),
        ] {
            do {
                _ = try await NATSConnection.connect(configuration, logger: testLogger())
                Issue.record("accepted \(configuration)")
            } catch {
                #expect(error.code == .invalidConfiguration)
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.privateServerTestsEnabled, "needs nats-server"))
    func userPasswordAuthentication() async throws {
        try await withNATSServer(
            configuration: """
                authorization { users = [ { user: "app", password: "right-password" } ] }
                """
        ) { server in
            do throws(ProtoqueueError) {
                _ = try await connect(server.url, authentication: .userPassword(user: "app", password: "wrong"))
                Issue.record("connected with a wrong password")
            } catch {
                #expect(error.code == .authenticationFailed, "\(error)")
            }
            do throws(ProtoqueueError) {
                _ = try await connect(server.url)
                Issue.record("connected without credentials")
            } catch {
                #expect(error.code == .authenticationFailed, "\(error)")
            }
            let connection = try await connect(
                server.url, authentication: .userPassword(user: "app", password: "right-password"))
            let queue = try await Queue<InteropTask>(connection: connection, name: "auth", logger: testLogger())
            #expect(try await queue.enqueue(InteropTask(to: "x")).sequence == 1)
            await connection.close()
        }
    }

    @Test(.enabled(if: TestEnvironment.privateServerTestsEnabled, "needs nats-server"))
    func tokenAuthentication() async throws {
        try await withNATSServer(configuration: #"authorization { token: "s3cr3t" }"#) { server in
            do throws(ProtoqueueError) {
                _ = try await connect(server.url, authentication: .token("guess"))
                Issue.record("connected with a wrong token")
            } catch {
                #expect(error.code == .authenticationFailed, "\(error)")
            }
            let connection = try await connect(server.url, authentication: .token("s3cr3t"))
            await connection.close()
        }
    }

    static let permissionsConfiguration = """
        accounts {
          APP: {
            jetstream: enabled
            users: [
              { user: "admin", password: "admin-pw" }
              { user: "limited", password: "limited-pw", permissions: {
                  publish: { allow: ["$JS.API.>", "protoqueue.allowed.>"] }
                  subscribe: { allow: ["_INBOX.>"] }
              } }
              { user: "noapi", password: "noapi-pw", permissions: {
                  publish: { allow: ["protoqueue.>"] }
                  subscribe: { allow: ["_INBOX.>"] }
              } }
            ]
          }
        }
        """

    @Test(.enabled(if: TestEnvironment.privateServerTestsEnabled, "needs nats-server"))
    func publishWithoutPermissionIsReportedAsPermissionDeniedNotTimeout() async throws {
        try await withNATSServer(configuration: Self.permissionsConfiguration) { server in
            let admin = try await connect(
                server.url, authentication: .userPassword(user: "admin", password: "admin-pw"))
            _ = try await Queue<InteropTask>(connection: admin, name: "allowed", logger: testLogger())
            _ = try await Queue<InteropTask>(connection: admin, name: "denied", logger: testLogger())

            // Long enough that failing fast (on the asynchronous permission error) and waiting for the publish timeout
            // stay distinguishable even on a heavily loaded machine.
            let requestTimeout = Duration.seconds(20)
            let limited = try await connect(
                server.url, authentication: .userPassword(user: "limited", password: "limited-pw"),
                requestTimeout: requestTimeout)
            let allowed = try await Queue<InteropTask>(connection: limited, name: "allowed", logger: testLogger())
            let denied = try await Queue<InteropTask>(connection: limited, name: "denied", logger: testLogger())
            #expect(try await allowed.enqueue(InteropTask(to: "ok")).sequence == 1)

            let started = ContinuousClock.now
            do throws(ProtoqueueError) {
                _ = try await denied.enqueue(InteropTask(to: "nope"))
                Issue.record("publish without permission succeeded")
            } catch {
                #expect(error.code == .permissionDenied, "\(error)")
                #expect(error.message.contains("protoqueue.denied.ready.default"))
            }
            #expect(
                ContinuousClock.now - started < requestTimeout / 2,
                "permission denial must not wait for the publish timeout")

            let batchStarted = ContinuousClock.now
            let results = try await denied.enqueueBatch(
                (0..<50).map { InteropTask(to: "b\($0)") }, options: .init(window: 8))
            #expect(results.count == 50)
            for result in results {
                guard case .failure(let error) = result else {
                    Issue.record("batch item without permission succeeded")
                    continue
                }
                #expect(error.code == .permissionDenied)
            }
            #expect(ContinuousClock.now - batchStarted < requestTimeout, "a denied batch must fail fast")
            #expect(try await allowed.enqueue(InteropTask(to: "still ok")).sequence == 2)

            let adminView = try await Queue<InteropTask>(connection: admin, name: "denied", logger: testLogger())
            #expect(try await adminView.stats().messages == 0)
            await limited.close()
            await admin.close()
        }
    }

    @Test(.enabled(if: TestEnvironment.privateServerTestsEnabled, "needs nats-server"))
    func provisioningWithoutJetStreamAPIPermissionIsPermissionDenied() async throws {
        try await withNATSServer(configuration: Self.permissionsConfiguration) { server in
            let connection = try await connect(
                server.url, authentication: .userPassword(user: "noapi", password: "noapi-pw"),
                requestTimeout: .seconds(1))
            do throws(ProtoqueueError) {
                _ = try await Queue<InteropTask>(connection: connection, name: "anything", logger: testLogger())
                Issue.record("provisioned without JetStream API permission")
            } catch {
                #expect(error.code == .permissionDenied, "\(error)")
                #expect(error.message.contains("$JS.API"))
            }
            await connection.close()
        }
    }

    @Test(.enabled(if: TestEnvironment.privateServerTestsEnabled, "needs nats-server"))
    func reconnectsAfterServerRestartAndLogsIt() async throws {
        try await withNATSServer { server in
            let store = CapturingLogHandler.Store()
            let logger = Logger(label: "capture") { _ in CapturingLogHandler(store: store) }
            let connection = try await NATSConnection.connect(
                .init(
                    servers: [server.url], reconnect: .init(maxAttempts: 100, wait: .milliseconds(100)),
                    connectTimeout: .seconds(1), requestTimeout: .seconds(1)),
                logger: logger
            )
            let queue = try await Queue<InteropTask>(connection: connection, name: "reconnect", logger: testLogger())
            #expect(try await queue.enqueue(InteropTask(to: "before"), options: .init(id: "before")).sequence == 1)
            // Stopped and started again on the same port and store.
            await server.shutDown(removingDirectory: false)
            try await server.restart()
            var receipt: EnqueueReceipt?
            for _ in 0..<40 where receipt == nil {
                receipt = try? await queue.enqueue(InteropTask(to: "after"), options: .init(id: "after"))
                if receipt == nil { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(receipt?.sequence == 2)
            // nats.c runs its reconnected callback on its own thread, which may come after the first publish.
            #expect(await eventually { store.messages.contains { $0.contains("re-established") } })
            #expect(store.messages.contains { $0.contains("connection lost") })
            await connection.close()
            #expect(store.messages.contains { $0.contains("closed") })
        }
    }
}
