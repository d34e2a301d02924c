import Foundation
import Logging
import NATSTestSupport
import Protoqueue
import Synchronization
import TaskSchemas
import Testing

/// Retries longer than a second leave the workers' consumer at once (`docs/processing.md`, *Retries that wait*):
/// they wait on the scheduled-task consumer and come back as new messages that carry their attempts.
@Suite("Rescheduled retries", .serialized)
struct RescheduledRetryTests {
    @Test func aLongRetryWaitsOutsideTheConsumerAndKeepsCountingAttempts() async throws {
        try await withProcessingFixture("resched", maxDeliveries: 3, retry: .fixed(.milliseconds(1500))) { fixture in
            try await fixture.enqueue(1, prefix: "slow")
            let runs = Recorder<(attempt: Int, id: TaskID, last: Bool, at: ContinuousClock.Instant)>()
            let waitingSeen = Recorder<Void>()
            try await withProcessor(fixture.queue) { _, context in
                runs.record((context.attempt, context.id, context.isLastAttempt, .now))
                return .retry
            } body: {
                // Between two attempts the task is neither pending nor in flight on the workers' consumer.
                let deadline = ContinuousClock.now + .seconds(10)
                while runs.count < 2, ContinuousClock.now < deadline {
                    if await Self.waitsScheduled(fixture.queue), runs.count == 1 { waitingSeen.record(()) }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(await eventually { (try? await fixture.queue.stats().deadLetters) == 1 })
            }
            #expect(waitingSeen.count > 0, "stats never showed the retry as scheduled")
            let seen = runs.all
            #expect(seen.map(\.attempt) == [1, 2, 3])
            #expect(seen.map(\.id) == ["slow-0", "slow-0", "slow-0"])
            #expect(seen.map(\.last) == [false, false, true])
            for index in seen.indices.dropFirst() {
                let gap = seen[index].at - seen[index - 1].at
                #expect(gap >= .milliseconds(1490) && gap < .seconds(4), "gap \(index): \(gap)")
            }
            let letter = try #require(try await fixture.queue.deadLetters().all().first)
            #expect(letter.reason == .retriesExhausted)
            #expect(letter.attempts == 3)
            #expect(letter.id == "slow-0")
            #expect(letter.headers["Protoqueue-Prior-Attempts"] == "2")
            let stats = try await fixture.queue.stats()
            #expect(stats.messages == 0 && stats.scheduled == 0 && stats.ackPending == 0)

            // A replay starts again at attempt 1, under the same id.
            try await fixture.queue.replayDeadLetter(sequence: letter.sequence)
            let replayed = Recorder<(Int, TaskID)>()
            try await withProcessor(fixture.queue) { _, context in
                replayed.record((context.attempt, context.id))
                return .success
            } body: {
                #expect(await eventually { replayed.count == 1 })
            }
            #expect(replayed.all.map(\.0) == [1])
            #expect(replayed.all.map(\.1) == ["slow-0"])
        }
    }

    @Test func theScheduledTaskConsumerPassesVerificationWhenTheQueueIsOpenedAgain() async throws {
        try await withProcessingFixture("reopen") { fixture in
            for provisioning in [Provisioning.createOrVerify, .verify] {
                _ = try await Queue<EmailTask>(
                    connection: fixture.connection, name: fixture.queue.name,
                    configuration: fixture.queue.configuration, provisioning: provisioning, logger: testLogger())
            }
            #expect(try await fixture.queue.stats().consumerCount == 2)
        }
    }

    @Test func aQueueWithoutTheScheduledTaskConsumerRetriesInPlaceAndSaysSo() async throws {
        try await withProcessingFixture("noresched", maxDeliveries: 3, retry: .fixed(.milliseconds(1200))) { fixture in
            let layout = fixture.queue.layout
            try fixture.raw.deleteConsumer(stream: layout.streamName, consumer: layout.scheduledConsumerName)
            do throws(ProtoqueueError) {
                _ = try await Queue<EmailTask>(
                    connection: fixture.connection, name: fixture.queue.name,
                    configuration: fixture.queue.configuration, provisioning: .verify, logger: testLogger())
                Issue.record("verify accepted a queue without its scheduled-task consumer")
            } catch {
                #expect(
                    error.code == .streamNotFound && error.message.contains(layout.scheduledConsumerName), "\(error)")
            }
            let store = CapturingLogHandler.Store()
            let queue = try await Queue<EmailTask>(
                connection: fixture.connection, name: fixture.queue.name, configuration: fixture.queue.configuration,
                provisioning: .none, logger: Logger(label: "capture") { _ in CapturingLogHandler(store: store) })
            try await fixture.enqueue(1)
            let attempts = Recorder<Int>()
            let heldSeen = Recorder<Void>()
            try await withProcessor(queue) { _, context in
                attempts.record(context.attempt)
                return context.attempt == 1 ? .retry : .success
            } body: {
                let deadline = ContinuousClock.now + .seconds(10)
                while attempts.count < 2, ContinuousClock.now < deadline {
                    if let stats = try? await queue.stats(), attempts.count == 1, stats.ackPending == 1,
                        stats.scheduled == 0
                    {
                        heldSeen.record(())
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            #expect(attempts.all == [1, 2])
            #expect(heldSeen.count > 0, "the retry was not held in the consumer's ack-pending set")
            #expect(
                store.messages.contains {
                    $0.hasPrefix("warning") && $0.contains("no scheduled-task consumer")
                }, "\(store.messages)")
        }
    }

    @Test func aScheduledTaskWithoutAValidDueTimeIsDeadLettered() async throws {
        try await withProcessingFixture("baddue") { fixture in
            let subject = fixture.queue.layout.subject + ".scheduled.default"
            _ = try fixture.raw.publish(
                subject: subject, data: [],
                headers: [
                    "Nats-Msg-Id": "odd-1", "Protoqueue-Type": EmailTask.protoMessageName, "Protoqueue-Version": "1",
                    "Protoqueue-Not-Before": "tomorrow",
                ])
            let ran = Recorder<Int>()
            try await withProcessor(fixture.queue) { _, context in
                ran.record(context.attempt)
                return .success
            } body: {
                #expect(await eventually { (try? await fixture.queue.stats().deadLetters) == 1 })
            }
            #expect(ran.count == 0)
            let letter = try #require(try await fixture.queue.deadLetters().all().first)
            #expect(letter.reason == .decode)
            #expect(letter.error == "Protoqueue-Not-Before \"tomorrow\" is not a time in Unix milliseconds")
            #expect(letter.id == "odd-1")
            #expect(letter.originalSubject == subject)
            #expect(try await fixture.queue.stats().messages == 0)
        }
    }

    private static func waitsScheduled(_ queue: Queue<EmailTask>) async -> Bool {
        guard let stats = try? await queue.stats() else { return false }
        return stats.scheduled == 1 && stats.ackPending == 0 && stats.pending == 0
    }

    /// The stall of issue "Time": with `maxAckPending` 20, tasks backing off for 60 s used to fill the consumer's
    /// ack-pending set and stop every other task until their delay ran out.
    @Test func retriesWaitingTheirDelayDoNotStallHealthyTasks() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            try await stallTest(connection)
        }
    }

    private func stallTest(_ connection: NATSConnection) async throws {
        var configuration = QueueConfiguration(
            consumer: .init(ackWait: .seconds(30), maxDeliveries: 3, maxAckPending: 20))
        configuration.retry = .fixed(.seconds(60))
        let queue = try await Queue<EmailTask>(
            connection: connection, name: uniqueName("stall"), configuration: configuration, logger: testLogger())
        let count = 2000
        let items = (0..<(2 * count)).map { index in
            EnqueueItem(
                EmailTask(to: index % 2 == 0 ? "fail" : "ok", subject: "\(index)"), options: .init(id: "t-\(index)"))
        }
        let results = try await queue.enqueueBatch(items)
        #expect(results.allSatisfy { (try? $0.get()) != nil })

        struct Down: Error {}
        let healthyDone = Mutex<Int>(0)
        let firstFailure = Mutex<[String: ContinuousClock.Instant]>([:])
        let retryGaps = Recorder<Duration>()
        let started = ContinuousClock.now
        let healthyTime = Mutex<Duration?>(nil)
        try await withProcessor(
            queue, options: ProcessOptions(concurrency: 16, fetchTimeout: .milliseconds(500))
        ) { task, context in
            if task.to == "ok" {
                let done = healthyDone.withLock { done in
                    done += 1
                    return done
                }
                if done == count {
                    healthyTime.withLock { $0 = ContinuousClock.now - started }
                }
                return .success
            }
            if context.attempt == 1 {
                firstFailure.withLock { $0[task.subject] = .now }
                throw Down()
            }
            if let first = firstFailure.withLock({ $0[task.subject] }) { retryGaps.record(.now - first) }
            return .success
        } body: {
            #expect(await eventually(timeout: .seconds(30)) { healthyDone.withLock { $0 } == count })
            // The last failures' retries may still be on their way to the scheduled subject.
            #expect(await eventually { (try? await queue.stats().scheduled) == UInt64(count) })
            #expect(await eventually(timeout: .seconds(90)) { retryGaps.count == count })
            #expect(await eventually { (try? await queue.stats().messages) == 0 })
        }
        let healthy = try #require(healthyTime.withLock { $0 })
        let gaps = retryGaps.all.sorted()
        print("stall test: \(count) healthy tasks done in \(healthy); retry gaps \(gaps.first!)...\(gaps.last!)")
        #expect(healthy < .seconds(20))
        #expect(gaps.first! >= .milliseconds(59_990))
        #expect(gaps.last! < .seconds(66))
        #expect(try await queue.stats().deadLetters == 0)
    }
}
