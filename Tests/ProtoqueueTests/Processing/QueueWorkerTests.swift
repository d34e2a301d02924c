import Foundation
import Protoqueue
import ServiceLifecycle
import TaskSchemas
import Testing

@Suite(
    "One worker for many queues",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct QueueWorkerTests {
    func queues(_ connection: NATSConnection) async throws -> (Queue<EmailTask>, Queue<ImageResizeTask>) {
        (
            try await Queue<EmailTask>(connection: connection, name: uniqueName("wemail"), logger: testLogger()),
            try await Queue<ImageResizeTask>(connection: connection, name: uniqueName("wimage"), logger: testLogger())
        )
    }

    func fill(_ emails: Queue<EmailTask>, _ images: Queue<ImageResizeTask>, count: Int) async throws {
        _ = try await emails.enqueueBatch((0..<count).map { EmailTask(to: "u\($0)@example.com") })
        _ = try await images.enqueueBatch((0..<count).map { ImageResizeTask(sourceURL: "s3://in/\($0).png") })
    }

    @Test func queuesOfTwoTypesShareTheBudgetFairly() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            let (emails, images) = try await queues(connection)
            try await fill(emails, images, count: 150)
            let order = Recorder<String>()
            let running = ConcurrencyGauge()
            var worker = QueueWorker(
                options: .init(concurrency: 4, fetchTimeout: .milliseconds(100), stopWhenIdle: true),
                logger: testLogger())
            worker.add(emails) { _, _ in
                running.enter()
                defer { running.leave() }
                order.record("email")
                try await Task.sleep(for: .milliseconds(5))
                return .success
            }
            worker.add(images) { _, _ in
                running.enter()
                defer { running.leave() }
                order.record("image")
                try await Task.sleep(for: .milliseconds(5))
                return .success
            }
            try await worker.run()
            #expect(order.count == 300)
            #expect(running.most <= 4, "peak \(running.most)")
            // Both queues have a backlog from the start: each gets a fair part of the first 100 starts.
            let first = order.all.prefix(100)
            #expect(first.filter { $0 == "email" }.count >= 30, "\(first)")
            #expect(first.filter { $0 == "image" }.count >= 30, "\(first)")
            #expect(try await emails.stats().messages == 0)
            #expect(try await images.stats().messages == 0)
        }
    }

    @Test func aQueueCapHoldsWhileTheOtherUsesTheRest() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            let (emails, images) = try await queues(connection)
            try await fill(emails, images, count: 60)
            let emailRunning = ConcurrencyGauge()
            let allRunning = ConcurrencyGauge()
            var worker = QueueWorker(
                options: .init(concurrency: 6, fetchTimeout: .milliseconds(100), stopWhenIdle: true),
                logger: testLogger())
            worker.add(emails, maxConcurrency: 1) { _, _ in
                emailRunning.enter()
                allRunning.enter()
                defer { emailRunning.leave(); allRunning.leave() }
                try await Task.sleep(for: .milliseconds(5))
                return .success
            }
            worker.add(images) { _, _ in
                allRunning.enter()
                defer { allRunning.leave() }
                try await Task.sleep(for: .milliseconds(5))
                return .success
            }
            try await worker.run()
            #expect(emailRunning.most == 1)
            #expect(allRunning.most > 1 && allRunning.most <= 6, "peak \(allRunning.most)")
            #expect(try await emails.stats().messages == 0)
            #expect(try await images.stats().messages == 0)
        }
    }

    @Test func aQueueAloneUsesTheWholeBudget() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            let (emails, images) = try await queues(connection)
            _ = try await emails.enqueueBatch((0..<80).map { EmailTask(to: "u\($0)@example.com") })
            let running = ConcurrencyGauge()
            var worker = QueueWorker(
                options: .init(concurrency: 8, fetchTimeout: .milliseconds(100), stopWhenIdle: true),
                logger: testLogger())
            worker.add(emails) { _, _ in
                running.enter()
                defer { running.leave() }
                try await Task.sleep(for: .milliseconds(20))
                return .success
            }
            worker.add(images) { _, _ in .success }
            try await worker.run()
            // The idle image queue holds one slot for its open pull request.
            #expect(running.most >= 6 && running.most <= 8, "peak \(running.most)")
        }
    }

    @Test func stopWhenIdleServesTasksOneQueuesHandlersEnqueueToAnother() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            let (emails, images) = try await queues(connection)
            _ = try await images.enqueueBatch((0..<3).map { ImageResizeTask(sourceURL: "s3://in/\($0).png") })
            let mailed = Recorder<String>()
            var worker = QueueWorker(
                options: .init(concurrency: 4, fetchTimeout: .milliseconds(100), stopWhenIdle: true),
                logger: testLogger())
            // Each image handler outlasts several idleness checks of the (empty) email queue before it enqueues.
            worker.add(images) { task, _ in
                try await Task.sleep(for: .milliseconds(600))
                _ = try await emails.enqueue(EmailTask(to: "done@example.com", subject: task.sourceURL))
                return .success
            }
            worker.add(emails) { task, _ in
                mailed.record(task.subject)
                return .success
            }
            try await worker.run()
            #expect(mailed.all.sorted() == ["s3://in/0.png", "s3://in/1.png", "s3://in/2.png"])
            #expect(try await emails.stats().messages == 0)
        }
    }

    @Test func gracefulShutdownFinishesTheTasksInFlightOfEveryQueue() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            let (emails, images) = try await queues(connection)
            try await fill(emails, images, count: 2)
            let started = Recorder<String>()
            let finished = Recorder<String>()
            var worker = QueueWorker(
                options: .init(concurrency: 4, fetchTimeout: .milliseconds(100)), logger: testLogger())
            worker.add(emails) { _, context in
                started.record("e \(context.id)")
                try await Task.sleep(for: .milliseconds(400))
                finished.record("e \(context.id)")
                return .success
            }
            worker.add(images) { _, context in
                started.record("i \(context.id)")
                try await Task.sleep(for: .milliseconds(400))
                finished.record("i \(context.id)")
                return .success
            }
            let group = ServiceGroup(services: [worker], logger: testLogger())
            let running = Task { try await group.run() }
            #expect(await eventually { started.count == 4 })
            await group.triggerGracefulShutdown()
            try await running.value
            #expect(Set(finished.all) == Set(started.all))
            #expect(try await emails.stats().messages == 0)
            #expect(try await images.stats().messages == 0)
        }
    }

    @Test func aWorkerWithoutQueuesOrWithABadCapIsRefused() async throws {
        let empty = QueueWorker(logger: testLogger())
        await #expect(throws: ProtoqueueError.self) { try await empty.run() }
        try await withConnection(try await SharedServer.url()) { connection in
            let (emails, _) = try await queues(connection)
            var worker = QueueWorker(logger: testLogger())
            worker.add(emails, maxConcurrency: 0) { _, _ in .success }
            do {
                try await worker.run()
                Issue.record("maxConcurrency 0 was accepted")
            } catch let error as ProtoqueueError {
                #expect(error.code == .invalidConfiguration)
            }
        }
    }
}
