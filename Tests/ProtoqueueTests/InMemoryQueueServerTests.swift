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

    @Test func runUntilIdleServesAWorkerOfTwoQueuesIncludingFollowUpTasks() async throws {
        let server = InMemoryQueueServer()
        let emails = try await queue(server)
        let images = try await Queue<ImageResizeTask>(
            connection: server.connection, name: "images", logger: testLogger())
        _ = try await images.enqueueBatch((0..<3).map { ImageResizeTask(sourceURL: "s3://in/\($0).png") })
        let mailed = Recorder<String>()
        var worker = QueueWorker(options: .init(concurrency: 2, fetchTimeout: .milliseconds(50)), logger: testLogger())
        worker.add(images) { task, _ in
            _ = try await emails.enqueue(EmailTask(to: "ops@example.com", subject: task.sourceURL))
            return .success
        }
        worker.add(emails) { task, _ in
            mailed.record(task.subject)
            return .success
        }
        try await server.runUntilIdle(worker)
        #expect(mailed.all.sorted() == ["s3://in/0.png", "s3://in/1.png", "s3://in/2.png"])
        #expect(try await server.tasks(of: images).isEmpty)
        #expect(try await server.tasks(of: emails).isEmpty)
        await server.connection.close()
    }

    @Test func runUntilIdleLetsAHandlerThatOutlivedItsAckWaitFinishAndServesWhatItLeft() async throws {
        let server = InMemoryQueueServer()
        let emails = try await queue(server)
        let followUps = try await Queue<EmailTask>(
            connection: server.connection, name: "follow-ups", logger: testLogger())
        _ = try await emails.enqueue(EmailTask(to: "a"))
        let gate = Gate()
        let starts = Recorder<Int>()
        let finished = Recorder<Int>()
        var worker = QueueWorker(options: .init(concurrency: 4, fetchTimeout: .milliseconds(50)), logger: testLogger())
        worker.add(emails) { _, context in
            starts.record(context.attempt)
            if context.attempt == 1 { await gate.wait() }
            _ = try await followUps.enqueue(EmailTask(to: "b"), options: .init(id: "follow-up-\(context.attempt)"))
            return .success
        }
        worker.add(followUps) { task, _ in
            finished.record(1)
            return .success
        }
        let running = Task { try await server.runUntilIdle(worker) }
        #expect(await eventually { starts.count == 1 })
        // Past the ack wait (30 s): the task is delivered again, its second attempt succeeds and the server is idle
        // while the first handler still runs.
        await server.advance(by: .seconds(31))
        #expect(await eventually { finished.count == 1 })
        gate.release()
        try await running.value
        // The first handler finished (not cancelled) and its follow-up task was served too.
        #expect(starts.all == [1, 2])
        #expect(finished.count == 2)
        #expect(try await server.tasks(of: followUps).isEmpty)
        await server.connection.close()
    }

    @Test func aClosedServerRefusesCalls() async throws {
        let server = InMemoryQueueServer()
        let queue = try await queue(server)
        await server.connection.close()
        await #expect(throws: ProtoqueueError.self) { try await queue.enqueue(EmailTask(to: "a")) }
    }
}
