import Foundation
import NATSTestSupport
import Protoqueue
import Synchronization
import TaskSchemas
import Testing

@Suite(
    "Processing against a real nats-server",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct ProcessTests {
    @Test func successAcknowledgesEveryTaskOnce() async throws {
        try await withProcessingFixture { fixture in
            let ids = try await fixture.enqueue(25, metadata: ["tenant": "acme"])
            let seen = Recorder<(TaskID, Int, String?, Bool)>()
            try await withProcessor(fixture.queue) { task, context in
                seen.record(
                    (
                        context.id, context.attempt, context.metadata["tenant"],
                        context.enqueuedAt != nil && task.to.hasSuffix("@example.com")
                    ))
                return .success
            } body: {
                #expect(await eventually { seen.count >= 25 })
                #expect(await eventually { (try? await fixture.queue.stats().messages) == 0 })
            }
            #expect(Set(seen.all.map(\.0)) == Set(ids))
            #expect(seen.count == 25)
            #expect(seen.all.allSatisfy { $0.1 == 1 && $0.2 == "acme" && $0.3 })
            let stats = try await fixture.queue.stats()
            #expect(stats.messages == 0)
            #expect(stats.ackPending == 0)
            #expect(stats.deadLetters == 0)
        }
    }

    @Test func failureIsDeadLetteredWithEveryHeaderThenRemoved() async throws {
        try await withProcessingFixture { fixture in
            let receipt = try await fixture.queue.enqueue(
                EmailTask(to: "bad@example.com", templateID: "nope"),
                options: .init(id: "fails-1", metadata: ["tenant": "acme"]))
            let original = try fixture.raw.message(stream: fixture.queue.layout.streamName, sequence: receipt.sequence)
            let calls = Recorder<Int>()
            let before = Int64(Date().timeIntervalSince1970 * 1000)
            try await withProcessor(fixture.queue) { task, context in
                calls.record(context.attempt)
                return .failure(
                    "unknown template \(task.templateID)\r\nsecond line",
                    details: ["template": task.templateID, "smtp code": "550"])
            } body: {
                #expect(await eventually { (try? await fixture.queue.stats().deadLetters) == 1 })
                #expect(await eventually { (try? await fixture.queue.stats().messages) == 0 })
            }
            #expect(calls.all == [1])
            let layout = fixture.queue.layout
            let record = try fixture.raw.message(stream: layout.deadLetterStreamName, sequence: 1)
            #expect(record.subject == layout.deadLetterSubject)
            #expect(record.data == original.data)
            // Original headers unchanged; the control header Nats-Msg-Id kept under Protoqueue-Original-.
            for (key, value) in original.headers where key != "Nats-Msg-Id" {
                #expect(record.headers[key] == value, "header \(key)")
            }
            #expect(record.headers["Protoqueue-Original-Nats-Msg-Id"] == "fails-1")
            #expect(record.headers["Protoqueue-Meta-tenant"] == "acme")
            #expect(record.headers["Protoqueue-DLQ-Reason"] == "failed")
            #expect(record.headers["Protoqueue-DLQ-Error"] == "unknown template nope second line")
            #expect(record.headers["Protoqueue-DLQ-Attempts"] == "1")
            #expect(record.headers["Protoqueue-DLQ-Subject"] == layout.readySubject)
            #expect(record.headers["Protoqueue-DLQ-Stream"] == layout.streamName)
            #expect(record.headers["Protoqueue-DLQ-Sequence"] == String(receipt.sequence))
            #expect(record.headers["Protoqueue-DLQ-Consumer"] == layout.consumerName)
            #expect(record.headers["Protoqueue-DLQ-Detail-template"] == "nope")
            #expect(record.headers["Protoqueue-DLQ-Detail-smtp_code"] == "550")
            let failedAt = try #require(record.headers["Protoqueue-DLQ-Failed-At"].flatMap { Int64($0) })
            #expect(failedAt >= before - 1000 && failedAt <= Int64(Date().timeIntervalSince1970 * 1000) + 1000)

            let listed = try await fixture.queue.deadLetters().all()
            #expect(listed.count == 1)
            let letter = try #require(listed.first)
            #expect(letter.task?.to == "bad@example.com")
            #expect(letter.id == "fails-1")
            #expect(letter.reason == .failed)
            #expect(letter.details == ["template": "nope", "smtp_code": "550"])
            #expect(letter.attempts == 1)
            #expect(letter.originalSequence == receipt.sequence)
            #expect(letter.originalStream == layout.streamName)
            #expect(letter.failedAt != nil)
            let stats = try await fixture.queue.stats()
            #expect(stats.messages == 0 && stats.deadLetters == 1 && stats.ackPending == 0)
        }
    }

    @Test func emptyFailureTextAndDetailsKeepEveryOtherDeadLetterHeader() async throws {
        // nats.c 3.4.1 reads an empty header value as the whole next header line: an empty error text once made the
        // record lose the header after it (the task id, when this test was written).
        try await withProcessingFixture { fixture in
            _ = try await fixture.queue.enqueue(EmailTask(to: "x@example.com"), options: .init(id: "empty-failure"))
            try await withProcessor(fixture.queue) { _, _ in
                .failure("", details: ["blank": "", "padded": "  v  "])
            } body: {
                #expect(await eventually { (try? await fixture.queue.stats().deadLetters) == 1 })
            }
            let letter = try #require(try await fixture.queue.deadLetters().all().first)
            #expect(letter.error == "(empty)")
            #expect(letter.attempts == 1)
            #expect(letter.details == ["blank": "(empty)", "padded": "v"])
            #expect(letter.id == "empty-failure")
            #expect(letter.reason == .failed)
        }
    }

    @Test func retryUsesThePolicyDelaysThenDeadLetters() async throws {
        let retry = RetryPolicy.explicit([.milliseconds(300), .milliseconds(600)])
        try await withProcessingFixture(maxDeliveries: 3, retry: retry) { fixture in
            try await fixture.enqueue(1)
            let attempts = Recorder<(Int, ContinuousClock.Instant)>()
            try await withProcessor(fixture.queue) { _, context in
                attempts.record((context.attempt, .now))
                return .retry
            } body: {
                #expect(await eventually { (try? await fixture.queue.stats().deadLetters) == 1 })
            }
            let seen = attempts.all
            let letter = try #require(try await fixture.queue.deadLetters().all().first)
            #expect(try await fixture.queue.stats().messages == 0)
            guard !attemptCountWentBackwards(seen.map(\.0), letter) else { return }
            #expect(seen.map(\.0) == [1, 2, 3])
            if seen.count == 3 {
                let first = seen[1].1 - seen[0].1
                let second = seen[2].1 - seen[1].1
                // At least the policy's delay; well under the 5 s ack wait, so it was the NAK delay that brought it
                // back
                // (the margin absorbs scheduling on a loaded 2-core machine).
                #expect(first >= .milliseconds(290) && first < .milliseconds(2300), "gap 1: \(first)")
                #expect(second >= .milliseconds(590) && second < .milliseconds(2600), "gap 2: \(second)")
            }
            #expect(letter.reason == .retriesExhausted)
            #expect(letter.attempts == 3)
        }
    }

    @Test func explicitRetryDelayOverridesThePolicy() async throws {
        try await withProcessingFixture(maxDeliveries: 3, retry: .fixed(.seconds(20))) { fixture in
            try await fixture.enqueue(1)
            let attempts = Recorder<ContinuousClock.Instant>()
            try await withProcessor(fixture.queue) { _, context in
                attempts.record(.now)
                return context.attempt == 1 ? .retry(after: .milliseconds(400)) : .success
            } body: {
                #expect(await eventually { attempts.count == 2 })
                #expect(await eventually { (try? await fixture.queue.stats().messages) == 0 })
            }
            let times = attempts.all
            try #require(times.count == 2)
            #expect(times[1] - times[0] >= .milliseconds(390) && times[1] - times[0] < .seconds(2))
        }
    }

    @Test func thrownErrorsRetryWithBackoffThenDeadLetterWithTheErrorText() async throws {
        let retry = RetryPolicy.exponential(initial: .milliseconds(100), multiplier: 2, maximum: .seconds(1), jitter: 0)
        try await withProcessingFixture(maxDeliveries: 3, retry: retry) { fixture in
            try await fixture.enqueue(1)
            let attempts = Recorder<(Int, ContinuousClock.Instant)>()
            try await withProcessor(fixture.queue) { _, context in
                attempts.record((context.attempt, .now))
                throw HandlerFailure(description: "smtp down (attempt \(context.attempt))")
            } body: {
                #expect(await eventually { (try? await fixture.queue.stats().deadLetters) == 1 })
            }
            let seen = attempts.all
            let letter = try #require(try await fixture.queue.deadLetters().all().first)
            #expect(try await fixture.queue.stats().messages == 0)
            guard !attemptCountWentBackwards(seen.map(\.0), letter) else { return }
            #expect(seen.map(\.0) == [1, 2, 3])
            if seen.count == 3 {
                #expect(seen[1].1 - seen[0].1 >= .milliseconds(95))
                #expect(seen[2].1 - seen[1].1 >= .milliseconds(195))
            }
            #expect(letter.reason == .retriesExhausted)
            #expect(letter.error == "smtp down (attempt 3)")
            #expect(letter.attempts == 3)
            #expect(try await fixture.queue.stats().messages == 0)
        }
    }

    @Test func poisonPayloadIsDeadLetteredOnFirstDeliveryWithoutCallingTheHandler() async throws {
        try await withProcessingFixture(maxDeliveries: 5) { fixture in
            let layout = fixture.queue.layout
            let garbage: [UInt8] = [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]
            let headers = [
                "Nats-Msg-Id": "poison-1", "Protoqueue-Type": EmailTask.protoMessageName, "Protoqueue-Version": "1",
                "Content-Type": "application/x-protobuf", "Protoqueue-Enqueued-At": "1700000000000",
            ]
            let sequence = try fixture.raw.publish(subject: layout.readySubject, data: garbage, headers: headers)
            var wrongType = headers
            wrongType["Nats-Msg-Id"] = "poison-2"
            wrongType["Protoqueue-Type"] = "other.Message"
            _ = try fixture.raw.publish(
                subject: layout.readySubject, data: try EmailTask(to: "x").serializedBytes(), headers: wrongType)
            let calls = Recorder<TaskID>()
            try await withProcessor(fixture.queue) { _, context in
                calls.record(context.id)
                return .success
            } body: {
                #expect(await eventually { (try? await fixture.queue.stats().deadLetters) == 2 })
                #expect(await eventually { (try? await fixture.queue.stats().messages) == 0 })
            }
            #expect(calls.count == 0)
            let letters = try await fixture.queue.deadLetters().all()
            #expect(letters.count == 2)
            let poison = try #require(letters.first { $0.id == "poison-1" })
            #expect(poison.reason == .decode)
            #expect(poison.attempts == 1)
            #expect(poison.task == nil)
            #expect(poison.decodeError != nil)
            #expect(poison.payload == garbage)
            #expect(poison.originalSequence == sequence)
            #expect(!poison.error.isEmpty)
            let other = try #require(letters.first { $0.id == "poison-2" })
            #expect(other.reason == .decode)
            #expect(other.error.contains("other.Message"))
        }
    }

    @Test func handlerThatNeverSettlesIsDeadLetteredAfterMaxDeliveries() async throws {
        try await withProcessingFixture(maxDeliveries: 2, ackWait: .seconds(1), timeout: .milliseconds(100)) {
            fixture in
            try await fixture.enqueue(1, prefix: "stuck")
            let calls = Recorder<Int>()
            let hang = Gate()
            try await withProcessor(
                fixture.queue, options: .init(concurrency: 4, fetchTimeout: .milliseconds(200), shutdownTimeout: .zero)
            ) { _, context in
                calls.record(context.attempt)
                // Simulates a hung handler: it ignores its timeout, so its heartbeats stop and the ack wait expires.
                await hang.wait()
                return .success
            } body: {
                #expect(await eventually(timeout: .seconds(15)) { (try? await fixture.queue.stats().deadLetters) == 1 })
                #expect(await eventually { (try? await fixture.queue.stats().messages) == 0 })
                hang.release()
            }
            // The handler ran on the two allowed attempts, never on the grace delivery. (Under a heavily loaded
            // machine one run reported [1, 1]: see attemptCountWentBackwards below; the count is what matters here.)
            #expect(calls.count == 2)
            #expect(calls.all.allSatisfy { $0 <= 2 })
            let letter = try #require(try await fixture.queue.deadLetters().all().first)
            #expect(letter.reason == .maxDeliveries)
            #expect(letter.attempts == 3)
            #expect(letter.id == "stuck-0")
            let stats = try await fixture.queue.stats()
            #expect(stats.messages == 0)
            #expect(stats.deadLetters == 1)
        }
    }

    @Test func concurrencyLimitIsRespected() async throws {
        try await withProcessingFixture { fixture in
            try await fixture.enqueue(40)
            let running = Atomic<Int>(0)
            let peak = Atomic<Int>(0)
            let done = Atomic<Int>(0)
            try await withProcessor(fixture.queue, options: .init(concurrency: 3, fetchTimeout: .milliseconds(200))) {
                _, _ in
                let now = running.add(1, ordering: .sequentiallyConsistent).newValue
                peak.max(now, ordering: .sequentiallyConsistent)
                try await Task.sleep(for: .milliseconds(15))
                running.subtract(1, ordering: .sequentiallyConsistent)
                done.add(1, ordering: .sequentiallyConsistent)
                return .success
            } body: {
                #expect(await eventually { done.load(ordering: .sequentiallyConsistent) == 40 })
                // The server never had more than 3 tasks out to this worker either.
                let stats = try await fixture.queue.stats()
                #expect(stats.ackPending <= 3)
            }
            #expect(peak.load(ordering: .sequentiallyConsistent) == 3)
        }
    }

    @Test func inProgressKeepsALongTaskFromBeingRedelivered() async throws {
        try await withProcessingFixture(maxDeliveries: 3, ackWait: .seconds(2)) { fixture in
            try await fixture.enqueue(1)
            let attempts = Recorder<Int>()
            try await withProcessor(fixture.queue) { _, context in
                attempts.record(context.attempt)
                for _ in 0..<10 {  // 3 s of work with a 2 s ack wait
                    try await Task.sleep(for: .milliseconds(300))
                    await context.inProgress()
                }
                return .success
            } body: {
                #expect(await eventually { (try? await fixture.queue.stats().messages) == 0 })
            }
            #expect(attempts.all == [1])
            #expect(try await fixture.queue.stats().deadLetters == 0)
        }
    }

    @Test func statsAgreeWithWhatHappened() async throws {
        try await withProcessingFixture(maxDeliveries: 2, retry: .fixed(.milliseconds(20))) { fixture in
            try await fixture.enqueue(10)
            try await withProcessor(fixture.queue) { task, context in
                let index = Int(task.subject.split(separator: " ").last!)!
                switch index % 5 {
                case 0: return .failure("bad")
                case 1: throw HandlerFailure(description: "always")
                case 2: return context.attempt == 1 ? .retry(after: .milliseconds(10)) : .success
                default: return .success
                }
            } body: {
                #expect(
                    await eventually {
                        (try? await fixture.queue.stats()).map { $0.messages == 0 && $0.deadLetters == 4 } ?? false
                    })
            }
            let stats = try await fixture.queue.stats()
            #expect(stats.messages == 0)
            #expect(stats.ackPending == 0)
            #expect(stats.pending == 0)
            #expect(stats.deadLetters == 4)
            let reasons = try await fixture.queue.deadLetters().all().map(\.reason.name).sorted()
            #expect(reasons == ["failed", "failed", "retriesExhausted", "retriesExhausted"])
        }
    }
}

/// A KNOWN SERVER ISSUE: under full-suite load on 2.9.10 a handler was, rarely, given an attempt number lower than the
/// previous one ([1, 1, 3], [1, 2, 1], [1, 1]); the task then ends in the dead letters through the grace delivery,
/// reason `maxDeliveries`. Cause (found 6 December 2026): nats-server before 2.10.14 (#5305), finding only expired
/// pull requests when a retry falls due, hands the retry to nobody and moves the consumer's position back one
/// message, which it delivers again as new with a delivery count of 1. Workers now renew their last pull request
/// before it expires (`RetryAtRequestExpiryTests`), which a worker starved past the renewal margin can still miss:
/// the tests record it as a known issue, not hidden, and the task must still be dead-lettered exactly once.
func attemptCountWentBackwards(_ attempts: [Int], _ letter: DeadLetter<EmailTask>) -> Bool {
    guard attemptCountWentBackwards(attempts, "dead-lettered as \(letter.reason) after \(letter.attempts) deliveries")
    else { return false }
    #expect(letter.reason == .maxDeliveries || letter.reason == .retriesExhausted)
    return true
}

/// Whether one task's `attempts` went backwards (the server issue above), recorded as that known issue with `outcome`.
func attemptCountWentBackwards(_ attempts: [Int], _ outcome: String) -> Bool {
    guard zip(attempts, attempts.dropFirst()).contains(where: { $1 <= $0 }) else { return false }
    withKnownIssue("attempt number went backwards: \(attempts)", isIntermittent: true) {
        Issue.record("attempts \(attempts); \(outcome)")
    }
    return true
}
