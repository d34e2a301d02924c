import Foundation
import NATSTestSupport
import Protoqueue
import Synchronization
import TaskSchemas
import Testing

/// Records what the worker tells middleware about settlements and stuck handlers.
final class FlowRecorder: QueueMiddleware {
    let settlements = Recorder<TaskSettlement>()
    let stuck = Recorder<StuckHandler>()

    func settled(_ settlement: TaskSettlement) async { settlements.record(settlement) }
    func handlerStuck(_ handler: StuckHandler) async { stuck.record(handler) }
}

/// Long tasks against a real nats-server: heartbeats, timeouts, stuck handlers, late settlements.
@Suite(
    "Long tasks: heartbeats and timeouts",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct LongTaskTests {
    private func withQueue(
        ackWait: Duration = .seconds(5), maxDeliveries: Int? = 3, timeout: Duration? = nil,
        _ body: (Queue<EmailTask>, FlowRecorder, RawNATS) async throws -> Void
    ) async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let recorder = FlowRecorder()
        do {
            var configuration = QueueConfiguration(consumer: .init(ackWait: ackWait, maxDeliveries: maxDeliveries))
            configuration.retry = .fixed(.milliseconds(100))
            configuration.timeout = timeout
            let queue = try await Queue<EmailTask>(
                connection: connection, name: uniqueName("long"), configuration: configuration,
                middleware: [recorder], logger: testLogger())
            try await body(queue, recorder, try RawNATS(url: url))
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }

    private static let task = EmailTask(to: "a@example.com", subject: "long")
    private static let options = ProcessOptions(concurrency: 2, fetchTimeout: .milliseconds(200))

    @Test func aTaskRunningTenTimesTheAckWaitRunsOnceWhileTwoWorkersServeTheQueue() async throws {
        try await withQueue(ackWait: .seconds(2)) { queue, recorder, _ in
            _ = try await queue.enqueue(Self.task, options: .init(id: "ten-times"))
            let runs = Recorder<Int>()
            let handler: Queue<EmailTask>.Handler = { _, context in
                runs.record(context.attempt)
                try await Task.sleep(for: .seconds(20))
                return .success
            }
            try await whileRunning({ try await queue.process(options: Self.options, handler: handler) }) {
                try await withProcessor(queue, options: Self.options, handler: handler) {
                    #expect(await eventually(timeout: .seconds(35)) { recorder.settlements.count == 1 })
                    // Another ack wait: a redelivery would show now.
                    try await Task.sleep(for: .seconds(2.5))
                }
            }
            #expect(runs.all == [1])
            let settlement = try #require(recorder.settlements.all.first)
            #expect(settlement.outcome == .acknowledged && !settlement.late)
            #expect(try await queue.stats().messages == 0)
        }
    }

    @Test func aTimeoutCancelsTheHandlerWithItsReasonAndRetries() async throws {
        try await withQueue(timeout: .milliseconds(300)) { queue, recorder, _ in
            _ = try await queue.enqueue(Self.task, options: .init(id: "slow-once"))
            let seen = Recorder<(attempt: Int, reason: CancellationReason?, timeout: Duration?)>()
            try await withProcessor(queue, options: Self.options) { _, context in
                if context.attempt == 1 {
                    do {
                        try await Task.sleep(for: .seconds(30))
                    } catch {
                        seen.record((1, context.cancellationReason, context.timeout))
                        throw error
                    }
                }
                seen.record((context.attempt, context.cancellationReason, context.timeout))
                return .success
            } body: {
                #expect(await eventually { recorder.settlements.count == 2 })
            }
            #expect(seen.all.map(\.attempt) == [1, 2])
            #expect(seen.all.map(\.reason) == [.timeout, nil])
            #expect(seen.all.allSatisfy { $0.timeout == .milliseconds(300) })
            let first = recorder.settlements.all[0]
            #expect(first.outcome == .retried(after: .milliseconds(100)))
            #expect(first.error is TaskTimedOut)
            #expect(recorder.settlements.all[1].outcome == .acknowledged)
        }
    }

    @Test func aTimeoutOnTheLastAttemptDeadLettersWithReasonTimeout() async throws {
        try await withQueue(maxDeliveries: 2, timeout: .milliseconds(200)) { queue, _, _ in
            _ = try await queue.enqueue(Self.task, options: .init(id: "always-slow"))
            try await withProcessor(queue, options: Self.options) { _, _ in
                try await Task.sleep(for: .seconds(30))
                return .success
            } body: {
                #expect(await eventually { (try? await queue.stats().deadLetters) == 1 })
            }
            let letter = try #require(try await queue.deadLetters().all().first)
            #expect(letter.reason == .timeout)
            #expect(letter.attempts == 2)
            #expect(letter.error == "the handler did not finish within its timeout of 0.2 seconds")
        }
    }

    @Test func aTasksOwnTimeoutWinsAndAForeignProducerSetsItByHeader() async throws {
        try await withQueue(timeout: .seconds(60)) { queue, recorder, raw in
            _ = try await queue.enqueue(Self.task, options: .init(id: "own", timeout: .milliseconds(200)))
            var headers = foreignHeaders(id: "foreign")
            headers["Protoqueue-Timeout"] = "250"
            _ = try raw.publish(
                subject: queue.layout.readySubject, data: try Self.task.serializedBytes(), headers: headers)
            headers = foreignHeaders(id: "malformed")
            headers["Protoqueue-Timeout"] = "soon"
            _ = try raw.publish(
                subject: queue.layout.readySubject, data: try Self.task.serializedBytes(), headers: headers)
            let seen = Recorder<(TaskID, Duration?, CancellationReason?)>()
            try await withProcessor(queue, options: Self.options) { _, context in
                if context.attempt == 1 {
                    do {
                        try await Task.sleep(for: .seconds(30))
                    } catch {
                        seen.record((context.id, context.timeout, context.cancellationReason))
                        throw error
                    }
                }
                return .success
            } body: {
                #expect(await eventually { recorder.settlements.count == 5 })
            }
            let first = Dictionary(seen.all.map { ($0.0, ($0.1, $0.2)) }, uniquingKeysWith: { a, _ in a })
            #expect(first["own"]?.0 == .milliseconds(200) && first["own"]?.1 == .timeout)
            #expect(first["foreign"]?.0 == .milliseconds(250) && first["foreign"]?.1 == .timeout)
            let letter = try #require(try await queue.deadLetters().all().first)
            #expect(letter.id == "malformed" && letter.reason == .decode)
            #expect(letter.error.contains("Protoqueue-Timeout \"soon\""))
        }
    }

    @Test func aHandlerIgnoringItsTimeoutIsReportedStuckAndItsLateSettlementReported() async throws {
        try await withQueue(ackWait: .seconds(2), maxDeliveries: 5, timeout: .milliseconds(200)) { queue, rec, _ in
            _ = try await queue.enqueue(Self.task, options: .init(id: "stubborn"))
            let gate = Gate()
            try await withProcessor(queue, options: Self.options) { _, context in
                if context.attempt == 1 { await gate.wait() }  // ignores cancellation
                return .success
            } body: {
                #expect(await eventually { rec.stuck.count == 1 })
                // No heartbeats after the timeout: the server delivers the task again once the ack wait runs out,
                // and the second attempt succeeds while the first still hangs (or, with the server issue below, is
                // numbered 1 again and hangs too until the gate opens).
                #expect(
                    await eventually {
                        rec.settlements.all.contains { $0.attempt == 2 } || rec.stuck.all.map(\.attempt) == [1, 1]
                    })
                gate.release()
                #expect(await eventually { rec.settlements.count == 2 })
            }
            // The server issue of ProcessTests' attemptCountWentBackwards: seen here once on 2.9.10 in a fresh-clone CI
            // run (both runs reported attempt 1, two stuck reports, no "a delivery reached a handler a second time").
            if rec.stuck.all.map(\.attempt) == [1, 1] {
                withKnownIssue("attempt number went backwards: the redelivery ran as attempt 1", isIntermittent: true) {
                    Issue.record("stuck reports \(rec.stuck.all.map(\.attempt))")
                }
                return
            }
            let stuck = try #require(rec.stuck.all.first)
            #expect(stuck.id == "stubborn" && stuck.attempt == 1 && stuck.timeout == .milliseconds(200))
            #expect(stuck.runningFor >= .milliseconds(1200))
            let byAttempt = Dictionary(rec.settlements.all.map { ($0.attempt, $0) }, uniquingKeysWith: { a, _ in a })
            #expect(byAttempt[2]?.late == false && byAttempt[2]?.outcome == .acknowledged)
            #expect(byAttempt[1]?.late == true)
            #expect(rec.stuck.count == 1)
        }
    }

    @Test func aStoppingWorkerCancelsWithReasonShutdown() async throws {
        try await withQueue(timeout: .seconds(60)) { queue, _, _ in
            _ = try await queue.enqueue(Self.task, options: .init(id: "interrupted"))
            let reasons = Recorder<CancellationReason?>()
            var options = Self.options
            options.shutdownTimeout = .milliseconds(100)
            try await withProcessor(queue, options: options) { _, context in
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    reasons.record(context.cancellationReason)
                    throw error
                }
                return .success
            } body: {
                #expect(await eventually { (try? await queue.stats().ackPending) == 1 })
            }
            #expect(reasons.all == [.shutdown])
            // Not lost: the next worker runs it.
            let next = Recorder<Int>()
            try await withProcessor(queue, options: Self.options) { _, context in
                next.record(context.attempt)
                return .success
            } body: {
                #expect(await eventually { next.count == 1 })
            }
            // Attempt 2 or later: a stopping worker may have been handed the returned task once more on the way out.
            #expect(next.count == 1 && next.all.allSatisfy { $0 >= 2 })
        }
    }

    @Test func aWorkersRateLimitHoldsWithinFivePercentOverThirtySeconds() async throws {
        try await withQueue { queue, _, _ in
            let tasks = (0..<800).map { EnqueueItem(EmailTask(to: "r\($0)@example.com", subject: "rate")) }
            for result in try await queue.enqueueBatch(tasks) { _ = try result.get() }
            let starts = Recorder<ContinuousClock.Instant>()
            let options = ProcessOptions(concurrency: 8, fetchTimeout: .milliseconds(200), rateLimit: .perSecond(20))
            let began = ContinuousClock.now
            try await withProcessor(queue, options: options) { _, _ in
                starts.record(.now)
                return .success
            } body: {
                try await Task.sleep(until: began + .seconds(31))
            }
            // The first start takes the one token of the burst; then one every 50 ms: 601 in the first 30 s.
            let first = try #require(starts.all.min())
            let inWindow = starts.all.filter { $0 <= first + .seconds(30) }.count
            #expect(abs(Double(inWindow) - 601) <= 0.05 * 601, "\(inWindow) starts in 30 s")
        }
    }
}
