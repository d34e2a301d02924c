import Foundation
import Logging
import Protoqueue
import ServiceLifecycle
import TaskSchemas
import Testing

/// `withNATSConnection` and the connection as a `Service` close the connection after the work that uses it.
@Suite(
    "Connection lifetime", .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct ConnectionLifetimeTests {
    @Test func withNATSConnectionClosesAfterTheBodyReturnsOrThrows() async throws {
        let url = try await SharedServer.url()
        let configuration = NATSConnectionConfiguration(servers: [url])
        let (queue, sequence) = try await withNATSConnection(configuration, logger: testLogger()) { connection in
            let queue = try await Queue<EmailTask>(
                connection: connection, name: uniqueName("scoped"), logger: testLogger())
            return (queue, try await queue.enqueue(EmailTask(to: "a@example.com")).sequence)
        }
        #expect(sequence == 1)
        await #expect(throws: ProtoqueueError.self) { try await queue.stats() }

        struct Failed: Error {}
        let kept = Recorder<NATSConnection>()
        await #expect(throws: Failed.self) {
            try await withNATSConnection(configuration, logger: testLogger()) { connection in
                kept.record(connection)
                throw Failed()
            }
        }
        #expect(kept.all.first?.maxPayload == 0)  // 0 once closed
    }

    @Test func aServiceGroupStopsTheWorkerBeforeClosingTheConnection() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let queue = try await Queue<EmailTask>(connection: connection, name: uniqueName("group"), logger: testLogger())
        _ = try await queue.enqueue(EmailTask(to: "slow@example.com"))
        let started = Recorder<TaskID>()
        let finished = Recorder<TaskID>()
        let worker = queue.processor(options: .init(concurrency: 1, fetchTimeout: .milliseconds(100))) { _, context in
            started.record(context.id)
            try await Task.sleep(for: .milliseconds(500))
            finished.record(context.id)
            return .success
        }
        let group = ServiceGroup(services: [connection, worker], logger: testLogger())
        let running = Task { try await group.run() }
        #expect(await eventually { started.count == 1 })
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(finished.count == 1)
        let check = try await connect(url)
        let again = try await Queue<EmailTask>(
            connection: check, name: queue.name, provisioning: .verify, logger: testLogger())
        #expect(try await again.stats().messages == 0)
        await check.close()
    }
}
