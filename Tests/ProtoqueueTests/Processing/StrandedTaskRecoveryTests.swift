import Foundation
import Logging
import NATSServerHarness
import NATSTestSupport
import Protoqueue
import TaskSchemas
import Testing

/// Stored tasks that a server crash left where the queue's consumer does not deliver them are recovered by the
/// worker. Each test makes the crash's result on a private server's store: the server is stopped, the stream's
/// message files are changed behind its back, and it is started again.
@Suite("Stranded tasks: recovery on a real server")
struct StrandedTaskRecoveryTests {
    private static let options = ProcessOptions(
        concurrency: 4, fetchTimeout: .milliseconds(200), strandedTaskCheck: .milliseconds(200))

    /// The stream's message files on the server's store.
    private func messageFiles(_ server: NATSServerProcess, stream: String) -> URL {
        server.storeDirectory.appendingPathComponent("jetstream/$G/streams/\(stream)/msgs")
    }

    /// Processes every task of `queue` until those of `ids` ran, at most 20 s; returns the ids that ran.
    private func process(_ queue: Queue<EmailTask>, until ids: Set<String>) async throws -> Set<String> {
        let ran = Recorder<String>()
        _ = try await withProcessor(queue, options: Self.options) { _, context in
            ran.record(context.id.rawValue)
            return .success
        } body: {
            await eventually(timeout: .seconds(20)) { ids.isSubset(of: Set(ran.all)) }
        }
        return Set(ran.all)
    }

    private func capturing(_ store: CapturingLogHandler.Store) -> Logger {
        Logger(label: "capture") { _ in CapturingLogHandler(store: store) }
    }

    private func openQueue(_ url: String, logger: Logger) async throws -> (NATSConnection, Queue<EmailTask>) {
        let connection = try await connect(url)
        let queue = try await Queue<EmailTask>(connection: connection, name: "stranded", logger: logger)
        return (connection, queue)
    }

    @Test(.enabled(if: TestEnvironment.privateServerTestsEnabled, "needs nats-server"))
    func tasksEnqueuedAfterTheStreamLostItsMessagesRun() async throws {
        try await withNATSServer { server in
            var (connection, queue) = try await openQueue(server.url, logger: testLogger())
            for index in 0..<3 {
                _ = try await queue.enqueue(EmailTask(to: "a"), options: .init(id: "before-\(index)"))
            }
            #expect(try await process(queue, until: ["before-0", "before-1", "before-2"]).count == 3)
            await connection.close()
            // The stream loses its messages and its sequence; the consumer keeps what it delivered.
            await server.shutDown(removingDirectory: false)
            let files = messageFiles(server, stream: queue.layout.streamName)
            for file in try FileManager.default.contentsOfDirectory(atPath: files.path) {
                try FileManager.default.removeItem(at: files.appendingPathComponent(file))
            }
            try await server.restart()
            let store = CapturingLogHandler.Store()
            (connection, queue) = try await openQueue(server.url, logger: capturing(store))
            for index in 0..<2 { _ = try await queue.enqueue(EmailTask(to: "b"), options: .init(id: "after-\(index)")) }
            // nats-server 2.9 keeps the consumer past the stream's last sequence; later servers move it back.
            let raw = try RawNATS(url: server.url)
            let state = try raw.deliveredAndLast(stream: queue.layout.streamName, consumer: queue.layout.consumerName)
            let ahead = state.delivered > state.last
            #expect(try await process(queue, until: ["after-0", "after-1"]).isSuperset(of: ["after-0", "after-1"]))
            #expect(store.messages.contains { $0.contains("creating the consumer again") } == ahead, "\(state)")
            await connection.close()
        }
    }

    @Test(.enabled(if: TestEnvironment.privateServerTestsEnabled, "needs nats-server"))
    func tasksWhoseRemovalWasLostRunAgainAndLeaveTheStream() async throws {
        try await withNATSServer { server in
            var (connection, queue) = try await openQueue(server.url, logger: testLogger())
            let stream = queue.layout.streamName
            for index in 0..<3 { _ = try await queue.enqueue(EmailTask(to: "a"), options: .init(id: "task-\(index)")) }
            await connection.close()
            // A copy of the stream's files with the three tasks, put back after they ran: the removals are lost.
            await server.shutDown(removingDirectory: false)
            let files = messageFiles(server, stream: stream)
            let copy = server.directory.appendingPathComponent("msgs-copy")
            try FileManager.default.copyItem(at: files, to: copy)
            try await server.restart()
            (connection, queue) = try await openQueue(server.url, logger: testLogger())
            #expect(try await process(queue, until: ["task-0", "task-1", "task-2"]).count == 3)
            await connection.close()
            await server.shutDown(removingDirectory: false)
            try FileManager.default.removeItem(at: files)
            try FileManager.default.moveItem(at: copy, to: files)
            try await server.restart()

            let store = CapturingLogHandler.Store()
            (connection, queue) = try await openQueue(server.url, logger: capturing(store))
            #expect(try await queue.stats().messages == 3)
            #expect(try await process(queue, until: ["task-0", "task-1", "task-2"]).count == 3)
            #expect(store.messages.contains { $0.contains("creating the consumer again") })
            #expect(await eventually { (try? await queue.stats().messages) == 0 })
            await connection.close()
        }
    }
}
