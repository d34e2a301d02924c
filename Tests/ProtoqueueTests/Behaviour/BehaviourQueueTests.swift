import Foundation
import Protoqueue
import Synchronization
import TaskSchemas
import Testing

/// Enqueueing, ids, stats, dead letters, worker modes and middleware, run on both transports.
@Suite("Behaviour: queue")
struct BehaviourQueueTests {
    @Test(arguments: Backend.available)
    func enqueueStoresTheTaskWithItsIdAndMetadata(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let receipt = try await env.queue.enqueue(
                EmailTask(to: "ada@example.com", subject: "hi"), options: .init(id: "welcome", metadata: ["k": "v"]))
            #expect(receipt.id == "welcome" && !receipt.duplicate && receipt.stream == env.queue.layout.streamName)
            let stored = try await env.queue.peek(sequence: receipt.sequence)
            #expect(stored.id == "welcome")
            #expect(stored.task.to == "ada@example.com")
            #expect(stored.metadata == ["k": "v"])
            #expect(stored.subject == env.queue.layout.readySubject)
            #expect(stored.enqueuedAt != nil)
        }
    }

    @Test(arguments: Backend.available)
    func aSecondEnqueueOfAnIdInsideTheWindowIsADuplicateStoredOnce(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let first = try await env.queue.enqueue(EmailTask(to: "a"), options: .init(id: "once"))
            let second = try await env.queue.enqueue(EmailTask(to: "b"), options: .init(id: "once"))
            #expect(!first.duplicate)
            #expect(second.duplicate)
            #expect(second.sequence == first.sequence)
            #expect(try await env.queue.stats().messages == 1)
            #expect(try await env.queue.peek(sequence: first.sequence).task.to == "a")
        }
    }

    @Test(arguments: Backend.available)
    func anIdIsNewAgainOnceTheDuplicateWindowHasPassed(_ backend: Backend) async throws {
        try await withBackend(backend, duplicateWindow: .seconds(2)) { env in
            let first = try await env.queue.enqueue(EmailTask(to: "a"), options: .init(id: "again"))
            // Right away, so that a loaded machine cannot stretch it past the window; time passes only after.
            #expect(try await env.queue.enqueue(EmailTask(to: "b"), options: .init(id: "again")).duplicate)
            await env.advance(by: .milliseconds(2200))
            let third = try await env.queue.enqueue(EmailTask(to: "c"), options: .init(id: "again"))
            #expect(!third.duplicate)
            #expect(third.sequence == first.sequence + 1)
            #expect(try await env.queue.stats().messages == 2)
        }
    }

    @Test(arguments: Backend.available)
    func batchResultsComeInInputOrderWithDuplicatesMarked(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let items = ["a", "b", "a", "c"].map { EnqueueItem(EmailTask(to: $0), options: .init(id: TaskID($0))) }
            let results = try await env.queue.enqueueBatch(items)
            let receipts = try results.map { try $0.get() }
            #expect(receipts.map(\.id) == ["a", "b", "a", "c"])
            #expect(receipts.map(\.duplicate) == [false, false, true, false])
            #expect(receipts[2].sequence == receipts[0].sequence)
            let stats = try await env.queue.stats()
            #expect(stats.messages == 3)
            #expect(stats.pending == 3)
            #expect(stats.lastSequence - stats.firstSequence == 2)
        }
    }

    @Test(arguments: Backend.available)
    func streamedBatchSummaryCountsDuplicates(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let items = (0..<5).map { EnqueueItem(EmailTask(to: "\($0)"), options: .init(id: TaskID("s\($0 % 3)"))) }
            let stream = AsyncStream<EnqueueItem<EmailTask>> { continuation in
                for item in items { continuation.yield(item) }
                continuation.finish()
            }
            let positions = Recorder<Int>()
            let summary = try await env.queue.enqueueBatch(from: stream) { results in
                for await result in results { positions.record(result.position) }
            }
            #expect(summary.total == 5 && summary.succeeded == 5 && summary.duplicates == 2 && summary.failed == 0)
            #expect(positions.all == [0, 1, 2, 3, 4])
            #expect(try await env.queue.stats().messages == 3)
        }
    }

    @Test(arguments: Backend.available)
    func statsCountPendingAndAckPendingWhileHandlersRun(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            try await env.enqueue(5)
            let gate = Gate()
            let running = ConcurrencyGauge()
            let options = ProcessOptions(concurrency: 2, fetchTimeout: .milliseconds(200))
            try await withProcessor(env.queue, options: options) { _, _ in
                running.enter()
                await gate.wait()
                running.leave()
                return .success
            } body: {
                #expect(await eventually { running.now == 2 })
                await env.settle()
                let stats = try await env.queue.stats()
                #expect(stats.messages == 5)
                // Two running; a pull request renewed while deliveries for the old one were still on their way may
                // add a task or two that wait parked (FetchState.renewal).
                #expect(stats.ackPending >= 2 && stats.ackPending <= 4, "\(stats.ackPending)")
                #expect(Int(stats.ackPending) + Int(stats.pending) == 5)
                gate.release()
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
            }
        }
    }

    @Test(arguments: Backend.available)
    func aRetryOfAtMostASecondHoldsItsAckPendingSlot(_ backend: Backend) async throws {
        try await withBackend(backend, maxAckPending: 1) { env in
            try await env.enqueue(2)
            let seen = Recorder<(TaskID, Int)>()
            try await withProcessor(env.queue) { _, context in
                seen.record((context.id, context.attempt))
                return context.attempt == 1 && context.id == "task-0" ? .retry(after: .seconds(1)) : .success
            } body: {
                #expect(await eventually { seen.count == 1 })
                await env.settle()
                await env.advance(by: .milliseconds(1100))
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
            }
            // The waiting task-0 counts against MaxAckPending = 1: task-1 comes only after task-0's retry.
            #expect(seen.all.map(\.0) == ["task-0", "task-0", "task-1"])
            #expect(seen.all.map(\.1) == [1, 2, 1])
        }
    }

    @Test(arguments: Backend.available)
    func aLongerRetryFreesItsSlotAndComesBackWithItsAttempt(_ backend: Backend) async throws {
        try await withBackend(backend, maxAckPending: 1) { env in
            try await env.enqueue(2)
            let seen = Recorder<(TaskID, Int)>()
            try await withProcessor(env.queue) { _, context in
                seen.record((context.id, context.attempt))
                return context.attempt == 1 && context.id == "task-0" ? .retry(after: .seconds(6)) : .success
            } body: {
                // task-1 runs while task-0 waits: the retry left the workers' consumer. (6 s, so that on NATS the
                // checks below come before it on a loaded machine.)
                #expect(await eventually { seen.count == 2 })
                await env.settle()
                let stats = try await env.queue.stats()
                #expect(stats.ackPending == 0 && stats.pending == 0, "\(stats)")
                #expect(stats.scheduled == 1 && stats.messages == 1, "\(stats)")
                await env.advance(by: .milliseconds(6100))
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
            }
            #expect(seen.all.map(\.0) == ["task-0", "task-1", "task-0"])
            #expect(seen.all.map(\.1) == [1, 1, 2])
        }
    }

    @Test(arguments: Backend.available)
    func aDelayedTaskWaitsUntilItIsDue(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            _ = try await env.queue.enqueue(EmailTask(to: "later"), options: .delayed(by: .seconds(8), id: "later-1"))
            try await env.enqueue(1)
            let stats = try await env.queue.stats()
            #expect(stats.scheduled == 1 && stats.pending == 1, "\(stats)")
            let seen = Recorder<TaskID>()
            try await withProcessor(env.queue) { _, context in
                seen.record(context.id)
                return .success
            } body: {
                #expect(await eventually { seen.count == 1 })
                await env.settle()
                // (8 s, so that on NATS, where time passes for real, the checks come first on a loaded machine.)
                #expect(seen.count == 1)
                await env.advance(by: .milliseconds(8100))
                #expect(await eventually { seen.count == 2 })
            }
            #expect(seen.all == ["task-0", "later-1"])
        }
    }

    @Test(arguments: Backend.available)
    func theConcurrencyLimitIsNeverExceeded(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            try await env.enqueue(12)
            let gauge = ConcurrencyGauge()
            let done = Recorder<TaskID>()
            let options = ProcessOptions(concurrency: 3, fetchTimeout: .milliseconds(200))
            try await withProcessor(env.queue, options: options) { _, context in
                gauge.enter()
                try? await Task.sleep(for: .milliseconds(15))
                gauge.leave()
                done.record(context.id)
                return .success
            } body: {
                let finished = await eventually { done.count == 12 }
                // Seen once on memory in a full parallel run of every target (2 cores); what it was doing:
                let stats = try? await env.queue.stats()
                #expect(finished, "done \(done.count), running \(gauge.now), stats \(String(describing: stats))")
            }
            #expect(gauge.most <= 3)
            #expect(gauge.most >= 2)
        }
    }

    @Test(arguments: Backend.available)
    func deadLettersCanBeListedAndReadOneByOne(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            try await env.enqueue(5)
            try await withProcessor(env.queue) { task, _ in
                .failure("no \(task.to)")
            } body: {
                #expect(await eventually { (try? await env.queue.stats().deadLetters) == 5 })
            }
            let letters = try await env.queue.deadLetters().all()
            #expect(Set(letters.compactMap(\.id)) == ["task-0", "task-1", "task-2", "task-3", "task-4"])
            // Stops the test, not the test process, when a record is missing.
            try #require(letters.count == 5)
            let one = try await env.queue.deadLetter(sequence: letters[1].sequence)
            #expect(one.id == letters[1].id && one.error == letters[1].error)
            let later = try await env.queue.deadLetters(fromSequence: letters[1].sequence).all()
            #expect(later.count == 4)
            // Replayed records leave gaps; reading skips them, with every record's headers and sequence intact.
            for letter in letters[1...3] { _ = try await env.queue.replayDeadLetter(sequence: letter.sequence) }
            let left = try await env.queue.deadLetters().all()
            #expect(left.map(\.sequence) == [letters[0].sequence, letters[4].sequence])
            #expect(
                left.map(\.id) == [letters[0].id, letters[4].id]
                    && left.map(\.error) == [letters[0].error, letters[4].error])
            let afterGap = try await env.queue.deadLetters(fromSequence: letters[1].sequence).all()
            #expect(afterGap.map(\.sequence) == [letters[4].sequence])
        }
    }

    @Test(arguments: Backend.available)
    func aReplayedDeadLetterStartsOverAtAttemptOne(_ backend: Backend) async throws {
        try await withBackend(backend, maxDeliveries: 2, retry: .fixed(.milliseconds(200))) { env in
            try await env.enqueue(1)
            let fail = Gate()
            let attempts = Recorder<Int>()
            try await withProcessor(env.queue) { _, context in
                attempts.record(context.attempt)
                return fail.isOpen ? .success : .failure("down")
            } body: {
                #expect(await eventually { (try? await env.queue.stats().deadLetters) == 1 })
                fail.release()
                let letter = try #require(try await env.queue.deadLetters().all().first)
                let receipt = try await env.queue.replayDeadLetter(sequence: letter.sequence)
                #expect(receipt.id == "task-0")
                #expect(await eventually { attempts.count == 2 })
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
            }
            #expect(attempts.all == [1, 1])
            #expect(try await env.queue.stats().deadLetters == 0)
        }
    }

    @Test(arguments: Backend.available)
    func replayAllRepublishesEveryRecord(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            try await env.deadLetterNewTasks(3)
            #expect(try await env.queue.replayAllDeadLetters() == 3)
            let stats = try await env.queue.stats()
            #expect(stats.deadLetters == 0)
            #expect(stats.messages == 3)
            let ids = Recorder<TaskID>()
            try await withProcessor(env.queue) { _, context in
                ids.record(context.id)
                return .success
            } body: {
                #expect(await eventually { ids.count == 3 })
            }
            #expect(Set(ids.all) == ["task-0", "task-1", "task-2"])
        }
    }

    @Test(arguments: Backend.available)
    func purgeDeletesEveryDeadLetter(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            try await env.deadLetterNewTasks(2)
            #expect(try await env.queue.purgeDeadLetters() == 2)
            #expect(try await env.queue.stats().deadLetters == 0)
            #expect(try await env.queue.deadLetters().all().isEmpty)
        }
    }

    @Test(arguments: Backend.available)
    func stopWhenIdleReturnsOnceEveryTaskIsSettled(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            try await env.enqueue(6)
            let done = Recorder<TaskID>()
            let options = ProcessOptions(concurrency: 2, fetchTimeout: .milliseconds(100), stopWhenIdle: true)
            let queue = env.queue
            let returned = Atomic(false)
            let processing = Task {
                defer { returned.store(true, ordering: .relaxed) }
                try await queue.process(options: options) { _, context in
                    done.record(context.id)
                    return .success
                }
            }
            // A worker that never sees the queue idle would hang the run: fail instead, with what it saw.
            if !(await eventually(timeout: .seconds(30)) { returned.load(ordering: .relaxed) }) {
                let stats = try await queue.stats()
                let seen =
                    "\(done.count) tasks done, pending \(stats.pending), ack pending \(stats.ackPending), "
                    + "messages \(stats.messages)"
                Issue.record("process did not return within 30 s: \(seen)")
                processing.cancel()
            }
            try await processing.value
            #expect(done.count == 6)
            #expect(try await env.queue.stats().messages == 0)
        }
    }

    /// A worker stopped while its handlers run and four more tasks wait fetched ahead: the handlers finish and are
    /// acknowledged, the waiting tasks go back to the server with `-NAK`, and the next worker runs them at once,
    /// long before the ack wait (30 s) would have brought them back.
    @Test(arguments: Backend.available)
    func gracefulShutdownWithTasksInFlightLosesNone(_ backend: Backend) async throws {
        try await withBackend(backend, ackWait: .seconds(30)) { env in
            try await env.enqueue(8)
            let finished = Recorder<TaskID>()
            let started = ConcurrencyGauge()
            let options = ProcessOptions(
                concurrency: 4, fetchTimeout: .milliseconds(200), shutdownTimeout: .seconds(5), prefetch: .tasks(4))
            try await withProcessor(env.queue, options: options) { _, context in
                started.enter()
                try? await Task.sleep(for: .milliseconds(100))
                finished.record(context.id)
                return .success
            } body: {
                #expect(await eventually { started.now >= 1 })
            }
            // Every handler that started finished and was acknowledged; the rest are back in the stream: never
            // delivered (pending), or returned with `-NAK`, which nats-server counts among the deliveries awaiting
            // acknowledgement until it delivers them again (first, to the next pull request).
            #expect(finished.count == started.now)
            #expect(
                await eventually {
                    guard let stats = try? await env.queue.stats() else { return false }
                    return stats.messages == UInt64(8 - finished.count)
                        && stats.pending + UInt64(max(0, stats.ackPending)) == stats.messages
                        && stats.redelivered == 0
                })
            let rest = Recorder<TaskID>()
            let next = ProcessOptions(concurrency: 4, fetchTimeout: .milliseconds(100))
            try await withProcessor(env.queue, options: next) { _, context in
                rest.record(context.id)
                return .success
            } body: {
                #expect(await eventually { Set(finished.all + rest.all).count == 8 })
            }
            #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
        }
    }

    @Test(arguments: Backend.available)
    func middlewareSeesEnqueueProcessingAndTheSettledOutcome(_ backend: Backend) async throws {
        let events = Recorder<String>()
        let middleware = RecordingMiddleware("m", events: events)
        try await withBackend(backend, middleware: [middleware]) { env in
            _ = try await env.queue.enqueue(EmailTask(to: "x"), options: .init(id: "mw"))
            let metadata = Recorder<[String: String]>()
            try await withProcessor(env.queue) { _, context in
                metadata.record(context.metadata)
                return .failure("no")
            } body: {
                #expect(await eventually { middleware.settlements.count == 1 })
            }
            #expect(
                events.all == [
                    "m.send single", "m.enqueue mw", "m.sent mw", "m.before mw", "m.after mw", "m.settled mw",
                ])
            #expect(metadata.all.first?["seen-by-m"] == "yes")
            let settlement = try #require(middleware.settlements.all.first)
            #expect(settlement.outcome == .deadLettered(reason: .failed, error: "no"))
            #expect(settlement.attempt == 1)
        }
    }
}
