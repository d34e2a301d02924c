import Foundation
import Protoqueue
import ProtoqueueTesting
import TaskSchemas
import Testing

/// The test-writer helpers of `ProtoqueueTesting`; they need no server.
@Suite("In-memory queue server")
struct InMemoryQueueServerTests {
    func queue(
        _ server: InMemoryQueueServer, retry: RetryPolicy = .fixed(.seconds(300))
    ) async throws
        -> Queue<EmailTask>
    {
        try await Queue<EmailTask>(
            connection: server.connection, name: "emails", configuration: QueueConfiguration(retry: retry),
            logger: testLogger())
    }

    @Test func tasksOfAQueueAreTypedAndInSequenceOrder() async throws {
        let server = InMemoryQueueServer()
        let queue = try await queue(server)
        _ = try await queue.enqueue(EmailTask(to: "a"), options: .init(id: "1", metadata: ["tenant": "t1"]))
        _ = try await queue.enqueue(EmailTask(to: "b"), options: .init(id: "2"))
        let tasks = try await server.tasks(of: queue)
        #expect(tasks.map(\.task.to) == ["a", "b"])
        #expect(tasks.map(\.id) == ["1", "2"])
        #expect(tasks[0].metadata == ["tenant": "t1"])
        await server.connection.close()
    }

    @Test func retriesWaitForVirtualTimeOnly() async throws {
        let server = InMemoryQueueServer()
        let queue = try await queue(server)
        _ = try await queue.enqueue(EmailTask(to: "a"))
        let attempts = Recorder<Int>()
        let handler: Queue<EmailTask>.Handler = { _, context in
            attempts.record(context.attempt)
            return context.attempt == 1 ? .retry : .success
        }
        try await server.runUntilIdle(queue, handler: handler)
        #expect(attempts.all == [1])
        #expect(try await server.tasks(of: queue).count == 1)
        await server.advance(by: .seconds(299))
        try await server.runUntilIdle(queue, handler: handler)
        #expect(attempts.all == [1])
        await server.advance(by: .seconds(1))
        try await server.runUntilIdle(queue, handler: handler)
        #expect(attempts.all == [1, 2])
        #expect(try await server.tasks(of: queue).isEmpty)
        #expect(server.elapsed == .seconds(300))
        await server.connection.close()
    }

    @Test func deadLettersOfAQueue() async throws {
        let server = InMemoryQueueServer()
        let queue = try await queue(server)
        _ = try await queue.enqueue(EmailTask(to: "a"), options: .init(id: "bad"))
        try await server.runUntilIdle(queue) { _, _ in .failure("nope", details: ["code": "7"]) }
        let letters = try await server.deadLetters(of: queue)
        #expect(letters.map(\.id) == ["bad"])
        #expect(letters.first?.details == ["code": "7"])
        #expect(letters.first?.reason == .failed)
        await server.connection.close()
    }

    @Test func aClosedServerRefusesCalls() async throws {
        let server = InMemoryQueueServer()
        let queue = try await queue(server)
        await server.connection.close()
        await #expect(throws: ProtoqueueError.self) { try await queue.enqueue(EmailTask(to: "a")) }
    }
}
