import Foundation
import Protoqueue
import TaskSchemas
import Testing

/// The outcome table of `docs/processing.md`, run on both transports (the memory one must not lie).
@Suite("Behaviour: outcomes")
struct BehaviourOutcomeTests {
    @Test(arguments: Backend.available)
    func successAcknowledgesAndRemovesTheTask(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            try await env.enqueue(2)
            let seen = Recorder<(TaskID, Int, String)>()
            try await withProcessor(env.queue) { task, context in
                seen.record((context.id, context.attempt, task.to))
                return .success
            } body: {
                #expect(await eventually { seen.count == 2 })
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
            }
            #expect(Set(seen.all.map(\.0)) == ["task-0", "task-1"])
            #expect(seen.all.allSatisfy { $0.1 == 1 })
            let stats = try await env.queue.stats()
            #expect(stats.ackPending == 0 && stats.pending == 0 && stats.deadLetters == 0)
        }
    }

    @Test(arguments: Backend.available)
    func retryWithADelayWaitsForIt(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            try await expectSecondAttemptAfter500ms(env, firstResult: .retry(after: .milliseconds(500)))
        }
    }

    @Test(arguments: Backend.available)
    func retryWithoutADelayUsesThePolicyDelay(_ backend: Backend) async throws {
        try await withBackend(backend, retry: .fixed(.milliseconds(500))) { env in
            try await expectSecondAttemptAfter500ms(env, firstResult: .retry)
        }
    }

    /// One task whose first attempt returns `firstResult` and whose second succeeds: the second comes at least
    /// 500 ms of backend time after the first (well under the 5 s ack wait: it was the retry delay), and the task is
    /// then acknowledged.
    private func expectSecondAttemptAfter500ms(_ env: BackendQueue, firstResult: TaskResult) async throws {
        try await env.enqueue(1)
        let attempts = Recorder<(attempt: Int, at: Duration)>()
        try await withProcessor(env.queue) { _, context in
            attempts.record((context.attempt, env.now()))
            return context.attempt == 1 ? firstResult : .success
        } body: {
            #expect(await eventually { attempts.count == 1 })
            // Its -NAK must reach the server before time passes: the delay starts there.
            await env.settle()
            await env.advance(by: .milliseconds(150))
            await env.settle()
            if env.backend == .memory { #expect(attempts.count == 1) }  // on NATS, the gap below says it
            await env.advance(by: .milliseconds(450))
            #expect(await eventually { attempts.count == 2 })
            #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
        }
        #expect(attempts.all.map(\.attempt) == [1, 2])
        if attempts.count == 2 {
            let gap = attempts.all[1].at - attempts.all[0].at
            #expect(gap >= .milliseconds(500) && gap < .seconds(5), "gap \(gap)")
        }
    }

    @Test(arguments: Backend.available)
    func failureIsDeadLetteredWithItsDetails(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            try await env.enqueue(1)
            try await withProcessor(env.queue) { _, _ in
                .failure("mailbox gone", details: ["smtp": "550", "host name": "mx1"])
            } body: {
                #expect(await eventually { (try? await env.queue.stats().deadLetters) == 1 })
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
            }
            let letter = try #require(try await env.queue.deadLetters().all().first)
            #expect(letter.reason == .failed)
            #expect(letter.error == "mailbox gone")
            #expect(letter.details == ["smtp": "550", "host_name": "mx1"])
            #expect(letter.attempts == 1)
            #expect(letter.id == "task-0")
            #expect(letter.task?.to == "user0@example.com")
            #expect(letter.originalStream == env.queue.layout.streamName)
            #expect(letter.originalSubject == env.queue.layout.readySubject)
            #expect(letter.failedAt != nil)
        }
    }

    @Test(arguments: Backend.available)
    func aTaskDeliveredAfterItsDeadlineIsDeadLetteredAsExpiredUntilReplayed(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let soon = Date().addingTimeInterval(0.3)
            _ = try await env.queue.enqueue(EmailTask(to: "late"), options: .init(id: "late", startBy: soon))
            _ = try await env.queue.enqueue(
                EmailTask(to: "in time"), options: .init(id: "in-time", startBy: Date().addingTimeInterval(120)))
            await env.advance(by: .milliseconds(600))
            let runs = Recorder<(TaskID, Date?)>()
            try await withProcessor(env.queue) { _, context in
                runs.record((context.id, context.startBy))
                return .success
            } body: {
                #expect(await eventually { (try? await env.queue.stats().deadLetters) == 1 })
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
                #expect(runs.all.map(\.0) == ["in-time"])
                #expect(runs.all.first?.1 != nil)
                let letter = try #require(try await env.queue.deadLetters().all().first)
                #expect(letter.reason == .expired && letter.id == "late" && letter.attempts == 1)
                #expect(letter.error.hasPrefix("the task had to start by"), "\(letter.error)")
                // An operator's replay runs it: the deadline is not carried.
                _ = try await env.queue.replayDeadLetter(sequence: letter.sequence)
                #expect(await eventually { runs.count == 2 })
            }
            #expect(runs.all.last?.0 == "late" && runs.all.last?.1 == nil)
        }
    }

    @Test(arguments: Backend.available)
    func discardTerminatesWithoutADeadLetter(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            try await env.enqueue(1)
            let calls = Recorder<Int>()
            try await withProcessor(env.queue) { _, context in
                calls.record(context.attempt)
                return .discard(reason: "unsubscribed")
            } body: {
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
                await env.settle()
            }
            #expect(calls.all == [1])
            #expect(try await env.queue.stats().deadLetters == 0)
        }
    }

    @Test(arguments: Backend.available)
    func thrownErrorsRetryWithThePolicyThenDeadLetterAsRetriesExhausted(_ backend: Backend) async throws {
        try await withBackend(backend, maxDeliveries: 2, retry: .fixed(.milliseconds(300))) { env in
            try await env.enqueue(1)
            let attempts = Recorder<Int>()
            try await withProcessor(env.queue) { _, context in
                attempts.record(context.attempt)
                throw HandlerFailure(description: "smtp down (attempt \(context.attempt))")
            } body: {
                #expect(await eventually { attempts.count == 1 })
                await env.settle()
                await env.advance(by: .milliseconds(400))
                #expect(await eventually { (try? await env.queue.stats().deadLetters) == 1 })
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
            }
            let letter = try #require(try await env.queue.deadLetters().all().first)
            // The server issue of ProcessTests' attemptCountWentBackwards, seen here too on NATS under CPU load; the
            // memory transport's count never goes backwards, so its case keeps every check.
            if backend == .nats && attemptCountWentBackwards(attempts.all, letter) { return }
            #expect(attempts.all == [1, 2])
            #expect(letter.reason == .retriesExhausted)
            #expect(letter.error == "smtp down (attempt 2)")
            #expect(letter.attempts == 2)
        }
    }

    @Test(arguments: Backend.available)
    func undecodablePayloadIsDeadLetteredAsDecodeWithoutTheHandler(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let garbage: [UInt8] = [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]
            let sequence = try env.publishRaw(body: garbage, headers: foreignHeaders(id: "poison"))
            let letter = try await refusedTask(in: env)
            #expect(letter.task == nil)
            #expect(letter.payload == garbage)
            #expect(letter.originalSequence == sequence)
            #expect(letter.id == "poison")
        }
    }

    @Test(arguments: Backend.available)
    func taskOfAnotherTypeIsDeadLetteredAsDecode(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            var headers = foreignHeaders(id: "other")
            headers["Protoqueue-Type"] = "other.Message"
            try env.publishRaw(body: try EmailTask(to: "x").serializedBytes(), headers: headers)
            #expect(try await refusedTask(in: env).error.contains("other.Message"))
        }
    }

    @Test(arguments: Backend.available)
    func taskWithoutItsTypeHeaderIsDeadLetteredAsDecode(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            var headers = foreignHeaders(id: "untyped")
            headers["Protoqueue-Type"] = nil
            try env.publishRaw(body: try EmailTask(to: "x").serializedBytes(), headers: headers)
            #expect(try await refusedTask(in: env).error.contains("Protoqueue-Type"))
        }
    }

    /// Runs a worker until the one published task is dead-lettered, checks that the handler never ran and the
    /// record says `decode` on the first delivery, and returns the record.
    private func refusedTask(in env: BackendQueue) async throws -> DeadLetter<EmailTask> {
        let calls = Recorder<TaskID>()
        try await withProcessor(env.queue) { _, context in
            calls.record(context.id)
            return .success
        } body: {
            #expect(await eventually { (try? await env.queue.stats().deadLetters) == 1 })
        }
        #expect(calls.count == 0)
        let letter = try #require(try await env.queue.deadLetters().all().first)
        #expect(letter.reason == .decode)
        #expect(letter.attempts == 1)
        return letter
    }

    @Test(arguments: Backend.available)
    func deadLettersDisabledTerminatesAFailedTask(_ backend: Backend) async throws {
        try await withBackend(backend, deadLetter: DeadLetterConfiguration(enabled: false)) { env in
            try await env.enqueue(1)
            let outcomes = Recorder<Int>()
            try await withProcessor(env.queue) { _, context in
                outcomes.record(context.attempt)
                return .failure("bad")
            } body: {
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
                await env.settle()
            }
            #expect(outcomes.all == [1])
        }
    }

    @Test(arguments: Backend.available)
    func expiredAckWaitRedeliversThenGraceDeliveryDeadLettersAsMaxDeliveries(_ backend: Backend) async throws {
        // A 3 s ack wait: a worker starved for longer than the ack wait (on the real clock) rightly leaves the first
        // delivery unrun, and full-suite runs on 2 cores starved it for more than 1 s.
        try await withBackend(backend, maxDeliveries: 2, ackWait: .seconds(3), timeout: .milliseconds(100)) { env in
            try await env.enqueue(1, prefix: "stuck")
            let calls = Recorder<Int>()
            let hang = Gate()
            let options = ProcessOptions(concurrency: 4, fetchTimeout: .milliseconds(200), shutdownTimeout: .zero)
            try await withProcessor(env.queue, options: options) { _, context in
                calls.record(context.attempt)
                // A hung handler: it ignores its timeout, so its heartbeats stop and the ack wait expires.
                await hang.wait()
                return .success
            } body: {
                defer { hang.release() }
                #expect(await eventually { calls.count == 1 })
                await env.advance(by: .milliseconds(3100))
                #expect(await eventually { calls.count == 2 })
                #expect(await eventually { (try? await env.queue.stats().redelivered) == 1 })
                await env.advance(by: .milliseconds(3100))
                #expect(await eventually { (try? await env.queue.stats().deadLetters) == 1 })
            }
            #expect(calls.all == [1, 2])
            let letter = try #require(try await env.queue.deadLetters().all().first)
            #expect(letter.reason == .maxDeliveries)
            #expect(letter.attempts == 3)
        }
    }
}
