import Foundation
import NATSServerHarness
import Protoqueue
import TaskSchemas
import Testing

/// Users missing one permission a queue needs get `permissionDenied` naming the subject within the request timeout
/// (plus one second), never a bare timeout.
@Suite(
    "Security: permissions",
    .enabled(if: ReliabilityEnvironment.serverTestsEnabled, "no nats-server (CI=true makes this fail)"))
struct PermissionTests {
    static let requestTimeout = Duration.seconds(2)
    static let limit = 3.0  // request timeout + 1 s

    /// admin may do everything; each other user lacks exactly one thing a queue needs.
    static let configuration = """
        authorization {
          users = [
            {user: admin, password: admin}
            {user: nopublish, password: p, permissions: {
              publish: { allow: ["$JS.API.>", "$JS.ACK.>"] }, subscribe: { allow: ["_INBOX.>"] } }}
            {user: noapi, password: p, permissions: {
              publish: { allow: ["protoqueue.>", "$JS.ACK.>"] }, subscribe: { allow: ["_INBOX.>"] } }}
            {user: infoonly, password: p, permissions: {
              publish: { allow: ["$JS.API.STREAM.INFO.>", "$JS.API.CONSUMER.INFO.>"] },
              subscribe: { allow: ["_INBOX.>"] } }}
            {user: noack, password: p, permissions: {
              publish: { allow: ["$JS.API.>", "protoqueue.>"] }, subscribe: { allow: ["_INBOX.>"] } }}
            {user: nofetch, password: p, permissions: {
              publish: { allow: ["$JS.API.STREAM.INFO.>", "$JS.API.CONSUMER.INFO.>", "$JS.ACK.>", "protoqueue.>"] },
              subscribe: { allow: ["_INBOX.>"] } }}
            {user: publishonly, password: p, permissions: {
              publish: { allow: ["protoqueue.perm.ready.>"] }, subscribe: { allow: ["_INBOX.>"] } }}
            {user: denied, password: p, permissions: {
              publish: { allow: [">"], deny: ["protoqueue.perm.ready.>"] }, subscribe: { allow: [">"] } }}
          ]
        }

        """

    func connection(_ server: NATSServerProcess, user: String, password: String = "p") async throws -> NATSConnection {
        try await NATSConnection.connect(
            testConfiguration(
                server.url, authentication: .userPassword(user: user, password: password),
                requestTimeout: Self.requestTimeout),
            logger: reliabilityLogger()
        )
    }

    @Test func aProducerThatMayOnlyPublishOpensItsQueueWithoutProvisioning() async throws {
        try await withNATSServer(configuration: Self.configuration) { server in
            let admin = try await connection(server, user: "admin", password: "admin")
            let adminQueue = try await Queue<EmailTask>(connection: admin, name: "perm", logger: reliabilityLogger())

            let producer = try await connection(server, user: "publishonly")
            let error = await expectTypedFailure([.permissionDenied], within: Self.limit, "open with provisioning") {
                () throws(ProtoqueueError) in
                _ = try await Queue<EmailTask>(connection: producer, name: "perm", logger: reliabilityLogger())
            }
            #expect(error?.message.contains("$JS.API") == true, "\(String(describing: error))")
            let queue = try await Queue<EmailTask>(
                connection: producer, name: "perm", provisioning: .none, logger: reliabilityLogger())
            let receipt = try await queue.enqueue(sampleEmail(), options: .init(id: "from-publish-only"))
            #expect(receipt.sequence == 1 && receipt.id == "from-publish-only")
            let results = try await queue.enqueueBatch((0..<20).map { sampleEmail($0) })
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            #expect(try await adminQueue.stats().messages == 21)
            await producer.close()
            await admin.close()
        }
    }

    @Test func publishWithoutPermissionNamesTheSubject() async throws {
        try await withNATSServer(configuration: Self.configuration) { server in
            let admin = try await connection(server, user: "admin", password: "admin")
            _ = try await Queue<EmailTask>(connection: admin, name: "perm", logger: reliabilityLogger())

            for user in ["nopublish", "denied"] {
                let restricted = try await connection(server, user: user)
                let queue = try await Queue<EmailTask>(
                    connection: restricted, name: "perm", logger: reliabilityLogger())
                let error = await expectTypedFailure([.permissionDenied], within: Self.limit, "\(user): enqueue") {
                    () throws(ProtoqueueError) in
                    try await queue.enqueue(sampleEmail())
                }
                #expect(
                    error?.message.contains("protoqueue.perm.ready.default") == true, "\(String(describing: error))")

                let start = ContinuousClock.now
                let results = try await queue.enqueueBatch((0..<20).map { sampleEmail($0) })
                #expect(elapsed(since: start) < Self.limit, "\(user): enqueueBatch took \(elapsed(since: start)) s")
                #expect(results.count == 20)
                for result in results {
                    switch result {
                    case .success(let receipt): Issue.record("\(user): batch item stored as \(receipt.sequence)")
                    case .failure(let error):
                        #expect(
                            error.code == .permissionDenied && error.message.contains("protoqueue.perm.ready.default"),
                            "\(user): \(error)")
                    }
                }
                // The connection stays usable for what the user may do.
                #expect(try await queue.stats().messages == 0)
                await restricted.close()
            }
            await admin.close()
        }
    }

    @Test func jetStreamAPIWithoutPermissionNamesTheAPISubject() async throws {
        try await withNATSServer(configuration: Self.configuration) { server in
            let admin = try await connection(server, user: "admin", password: "admin")
            let adminQueue = try await Queue<EmailTask>(connection: admin, name: "perm", logger: reliabilityLogger())
            _ = try await adminQueue.enqueue(sampleEmail())

            let restricted = try await connection(server, user: "noapi")
            let error = await expectTypedFailure([.permissionDenied], within: Self.limit, "noapi: open queue") {
                () throws(ProtoqueueError) in
                try await Queue<EmailTask>(connection: restricted, name: "perm", logger: reliabilityLogger())
            }
            #expect(error?.message.contains("$JS.API.STREAM.") == true, "\(String(describing: error))")

            // A user who may read stream and consumer information (enough to open the queue) but not fetch a stored
            // message: peek needs $JS.API.STREAM.MSG.GET.perm.
            let partial = try await connection(server, user: "infoonly")
            let queue = try await Queue<EmailTask>(connection: partial, name: "perm", logger: reliabilityLogger())
            #expect(try await queue.stats().messages == 1)
            let peekError = await expectTypedFailure([.permissionDenied], within: Self.limit, "infoonly: peek") {
                () throws(ProtoqueueError) in
                try await queue.peek(sequence: 1)
            }
            #expect(
                peekError?.message.contains("$JS.API.STREAM.MSG.GET.perm") == true, "\(String(describing: peekError))")
            await partial.close()
            await restricted.close()
            await admin.close()
        }
    }

    /// A worker whose user may not acknowledge ($JS.ACK.>) or pull ($JS.API.CONSUMER.MSG.NEXT.…): process() stops
    /// with permissionDenied naming the subject, and the tasks stay in the stream for a worker that may.
    @Test(arguments: [("noack", "$JS.ACK.perm."), ("nofetch", "$JS.API.CONSUMER.MSG.NEXT.perm.")])
    func processWithoutAckOrFetchPermissionStopsWithTheSubject(user: String, subjectPrefix: String) async throws {
        try await withNATSServer(configuration: Self.configuration) { server in
            let admin = try await connection(server, user: "admin", password: "admin")
            let adminQueue = try await Queue<EmailTask>(connection: admin, name: "perm", logger: reliabilityLogger())
            for index in 0..<3 { _ = try await adminQueue.enqueue(sampleEmail(index)) }

            let restricted = try await connection(server, user: user)
            let queue = try await Queue<EmailTask>(connection: restricted, name: "perm", logger: reliabilityLogger())
            // Bounded by the test itself: without the stop, process() would run until cancelled here.
            let start = ContinuousClock.now
            let processing = Task { () async -> ProtoqueueError? in
                do throws(ProtoqueueError) {
                    try await queue.process(options: ProcessOptions(concurrency: 2, fetchTimeout: .milliseconds(500))) {
                        _, _ in .success
                    }
                    return nil
                } catch {
                    return error
                }
            }
            let watchdog = Task {
                try await Task.sleep(for: .seconds(15))
                processing.cancel()
            }
            let error = await processing.value
            watchdog.cancel()
            #expect(error?.code == .permissionDenied, "\(user): \(String(describing: error))")
            #expect(
                elapsed(since: start) < Self.limit + 1, "\(user): process() stopped after \(elapsed(since: start)) s")
            #expect(error?.message.contains(subjectPrefix) == true, "\(String(describing: error))")
            #expect(try await adminQueue.stats().messages == 3, "unacknowledged tasks stay in the stream")
            await restricted.close()
            await admin.close()
        }
    }
}
