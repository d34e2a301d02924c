import Foundation
import Protoqueue
import ServiceLifecycle
import TaskSchemas
import Testing

/// Many queues in one `QueueWorker` (one budget, fair shares, per-queue caps, one shutdown), run on both transports:
/// the scenario's email queue and a second queue, of image tasks, on the same connection.
@Suite("Behaviour: worker", .timeLimit(.minutes(2)))
struct BehaviourWorkerTests {
    private func imageTasks(_ count: Int) -> [ImageResizeTask] {
        (0..<count).map { ImageResizeTask(sourceURL: "s3://in/\($0).png") }
    }

    private func worker(concurrency: Int, stopWhenIdle: Bool = false) -> QueueWorker {
        QueueWorker(
            options: .init(
                concurrency: concurrency, fetchTimeout: .milliseconds(100), shutdownTimeout: .seconds(10),
                stopWhenIdle: stopWhenIdle),
            logger: testLogger())
    }

    /// A handler's body: counted in `gauge` while it waits at `gate`, then a success.
    private func held(at gate: Gate, counted gauge: ConcurrencyGauge) async -> TaskResult {
        gauge.enter()
        await gate.wait()
        gauge.leave()
        return .success
    }

    /// Asserts that `queue` holds nothing: no task, none ack pending, no dead letter.
    private func expectEmpty<Message>(_ queue: Queue<Message>, _ name: String) async throws {
        let stats = try await queue.stats()
        #expect(stats.messages == 0 && stats.ackPending == 0 && stats.deadLetters == 0, "\(name): \(stats)")
    }

    @Test(arguments: Backend.available)
    func queuesOfTwoTypesAreEachHandledOnceByTheirOwnHandler(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let images = try await env.openQueue(of: ImageResizeTask.self)
            try await env.enqueue(20, prefix: "email")
            try await enqueue(imageTasks(20), into: images, prefix: "image")
            let emails = Recorder<(id: String, to: String)>()
            let resized = Recorder<(id: String, url: String)>()
            var worker = worker(concurrency: 4, stopWhenIdle: true)
            worker.add(env.queue) { task, context in
                emails.record((context.id.rawValue, task.to))
                return .success
            }
            worker.add(images) { task, context in
                resized.record((context.id.rawValue, task.sourceURL))
                return .success
            }
            try await worker.run()
            // Each id once, with its own payload: the right handler decoded the right type.
            #expect(emails.count == 20 && Set(emails.all.map(\.id)).count == 20)
            #expect(resized.count == 20 && Set(resized.all.map(\.id)).count == 20)
            #expect(emails.all.allSatisfy { $0.to == "user\($0.id.dropFirst(6))@example.com" }, "\(emails.all)")
            #expect(resized.all.allSatisfy { $0.url == "s3://in/\($0.id.dropFirst(6)).png" }, "\(resized.all)")
            try await expectEmpty(env.queue, "emails")
            try await expectEmpty(images, "images")
        }
    }

    @Test(arguments: Backend.available)
    func oneBudgetIsSharedFairlyByTwoBackloggedQueues(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let images = try await env.openQueue(of: ImageResizeTask.self)
            try await enqueue((0..<150).map { EmailTask(to: "u\($0)@example.com") }, into: env.queue, prefix: "e")
            try await enqueue(imageTasks(150), into: images, prefix: "i")
            let order = Recorder<String>()
            let running = ConcurrencyGauge()
            let handler: @Sendable (TaskContext) async throws -> TaskResult = { context in
                running.enter()
                defer { running.leave() }
                order.record(context.id.rawValue)
                try await Task.sleep(for: .milliseconds(5))
                return .success
            }
            var worker = worker(concurrency: 4, stopWhenIdle: true)
            worker.add(env.queue) { _, context in try await handler(context) }
            worker.add(images) { _, context in try await handler(context) }
            try await worker.run()
            #expect(order.count == 300 && Set(order.all).count == 300)
            #expect(running.most <= 4, "peak \(running.most)")
            #expect(running.most >= 2, "peak \(running.most)")
            // Both queues have a backlog from the start: each gets a fair part of the first 100 starts (49 to 52 on an
            // idle machine on both backends; without the fair shares of `SlotBudget`, anything from 15 to 76).
            let first = order.all.prefix(100)
            #expect(first.filter { $0.hasPrefix("e-") }.count >= 30, "\(first)")
            #expect(first.filter { $0.hasPrefix("i-") }.count >= 30, "\(first)")
            try await expectEmpty(env.queue, "emails")
            try await expectEmpty(images, "images")
        }
    }

    @Test(arguments: Backend.available)
    func aQueueCapHoldsWhileTheOtherQueueUsesTheRestOfTheBudget(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let images = try await env.openQueue(of: ImageResizeTask.self)
            try await env.enqueue(8)
            try await enqueue(imageTasks(8), into: images, prefix: "image")
            let gate = Gate()
            let emailRunning = ConcurrencyGauge()
            let imageRunning = ConcurrencyGauge()
            var worker = worker(concurrency: 4, stopWhenIdle: true)
            worker.add(env.queue, maxConcurrency: 1) { _, _ in await held(at: gate, counted: emailRunning) }
            worker.add(images) { _, _ in await held(at: gate, counted: imageRunning) }
            let run = Task { try await worker.run() }
            // The capped queue holds its one slot; the other takes the remaining three of the four.
            let filled = await eventually { emailRunning.now == 1 && imageRunning.now == 3 }
            #expect(filled, "emails \(emailRunning.now), images \(imageRunning.now)")
            await env.settle()
            #expect(emailRunning.now == 1 && imageRunning.now == 3)
            gate.release()
            try await run.value
            #expect(emailRunning.most == 1)
            #expect(imageRunning.most == 3)
            try await expectEmpty(env.queue, "emails")
            try await expectEmpty(images, "images")
        }
    }

    @Test(arguments: Backend.available)
    func aQueueAloneUsesTheBudgetButForTheIdleQueuesProbe(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let images = try await env.openQueue(of: ImageResizeTask.self)
            try await env.enqueue(10)
            let gate = Gate()
            let running = ConcurrencyGauge()
            var worker = worker(concurrency: 4)
            worker.add(env.queue) { _, _ in await held(at: gate, counted: running) }
            worker.add(images) { _, _ in .success }
            try await whileRunning({ [worker] in try await worker.run() }) {
                // The idle image queue holds at most one slot, for its open pull request; the email queue gets the
                // rest (and that slot too while the image queue's request is between expiry and renewal).
                #expect(await eventually { running.now >= 3 }, "running \(running.now)")
                await env.settle()
                #expect(running.now >= 3 && running.now <= 4, "running \(running.now)")
                gate.release()
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
            }
            #expect(running.most <= 4, "peak \(running.most)")
        }
    }

    @Test(arguments: Backend.available)
    func gracefulShutdownFinishesTheTasksInFlightInEveryQueue(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let images = try await env.openQueue(of: ImageResizeTask.self)
            let emailIDs = try await env.enqueue(6, prefix: "email")
            let all = Set(emailIDs + (try await enqueue(imageTasks(6), into: images, prefix: "image")))
            let gate = Gate()
            let started = Recorder<TaskID>()
            let finished = Recorder<TaskID>()
            let cancelled = Recorder<TaskID>()
            let handler: @Sendable (TaskContext) async -> TaskResult = { context in
                started.record(context.id)
                await gate.wait()
                if Task.isCancelled { cancelled.record(context.id) }
                finished.record(context.id)
                return .success
            }
            var worker = worker(concurrency: 4)
            worker.add(env.queue, maxConcurrency: 2) { _, context in await handler(context) }
            worker.add(images, maxConcurrency: 2) { _, context in await handler(context) }
            let group = ServiceGroup(services: [worker], logger: testLogger())
            let stopped = Gate()
            let running = Task {
                try await group.run()
                stopped.release()
            }
            #expect(await eventually { started.count == 4 }, "started \(started.all)")
            await group.triggerGracefulShutdown()
            try await Task.sleep(for: .milliseconds(100))
            #expect(!stopped.isOpen, "the worker returned while its handlers still ran")
            gate.release()
            try await running.value
            // The four in flight (two of each queue) finished within their grace, uncancelled, and were acknowledged;
            // no other one started.
            #expect(Set(finished.all) == Set(started.all) && finished.count == 4)
            #expect(cancelled.all.isEmpty)
            #expect(finished.all.filter { $0.rawValue.hasPrefix("email") }.count == 2)
            // Tasks fetched ahead went back with `-NAK`: nats-server counts them as awaiting acknowledgement until it
            // delivers them again.
            for queueStats in [try await env.queue.stats(), try await images.stats()] {
                let waiting = queueStats.pending + UInt64(max(0, queueStats.ackPending))
                #expect(queueStats.messages == 4 && waiting == 4 && queueStats.redelivered == 0, "\(queueStats)")
            }
            // The rest is still there, and only the rest: nothing that finished is delivered again.
            let rest = Recorder<TaskID>()
            var second = self.worker(concurrency: 4, stopWhenIdle: true)
            second.add(env.queue) { _, context in
                rest.record(context.id)
                return .success
            }
            second.add(images) { _, context in
                rest.record(context.id)
                return .success
            }
            try await second.run()
            #expect(rest.count == 8 && Set(rest.all).isDisjoint(with: finished.all))
            #expect(Set(rest.all + finished.all) == all)
            try await expectEmpty(env.queue, "emails")
            try await expectEmpty(images, "images")
        }
    }

    @Test(arguments: Backend.available)
    func retriesAndDeadLettersOfOneQueueLeaveTheOtherAlone(_ backend: Backend) async throws {
        try await withBackend(backend, maxDeliveries: 2, retry: .fixed(.milliseconds(300))) { env in
            let images = try await env.openQueue(of: ImageResizeTask.self)
            // task-0 is retried once, task-1 fails, task-2 throws on both of its attempts.
            try await env.enqueue(3)
            try await enqueue(imageTasks(10), into: images, prefix: "image")
            let attempts = Recorder<(id: String, attempt: Int)>()
            let resized = Recorder<(id: String, attempt: Int)>()
            var worker = worker(concurrency: 4)
            worker.add(env.queue) { _, context in
                attempts.record((context.id.rawValue, context.attempt))
                switch context.id {
                case "task-0": return context.attempt == 1 ? .retry : .success
                case "task-1": return .failure("bounced")
                default: throw HandlerFailure(description: "smtp down")
                }
            }
            worker.add(images) { _, context in
                resized.record((context.id.rawValue, context.attempt))
                return .success
            }
            try await whileRunning({ [worker] in try await worker.run() }) {
                // On NATS the first retries may come before the last image task: at least the three first attempts.
                #expect(await eventually { attempts.count >= 3 && resized.count == 10 })
                await env.settle()
                // While email tasks wait for their retry delay, new image tasks go through.
                try await enqueue(imageTasks(5), into: images, prefix: "late")
                #expect(await eventually { resized.count == 15 })
                if backend == .memory { #expect(attempts.count == 3) }  // no time passed
                await env.advance(by: .milliseconds(400))
                #expect(await eventually { attempts.count == 5 })
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
                #expect(await eventually { (try? await env.queue.stats().deadLetters) == 2 })
            }
            let byID = Dictionary(grouping: attempts.all, by: \.id).mapValues { $0.map(\.attempt) }
            #expect(byID == ["task-0": [1, 2], "task-1": [1], "task-2": [1, 2]])
            let letters = try await env.queue.deadLetters().all()
            let reasons = Dictionary(
                uniqueKeysWithValues: letters.compactMap { letter in letter.id.map { ($0.rawValue, letter.reason) } })
            #expect(reasons == ["task-1": .failed, "task-2": .retriesExhausted])
            // The image queue: every task once, on its first attempt; nothing dead-lettered or redelivered.
            #expect(resized.count == 15 && Set(resized.all.map(\.id)).count == 15)
            #expect(resized.all.allSatisfy { $0.attempt == 1 })
            try await expectEmpty(images, "images")
        }
    }
}
