import Foundation
import NATSTestSupport
import Protoqueue
import TaskSchemas
import Testing

@Suite("Dead-letter API", .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct DeadLetterAPITests {
    /// Dead-letters `count` tasks through a worker that fails every task not yet replayed.
    private func deadLetter(_ fixture: ProcessingFixture, count: Int, prefix: String = "task") async throws -> [TaskID]
    {
        let ids = try await fixture.enqueue(count, prefix: prefix)
        try await withProcessor(fixture.queue) { _, context in
            .failure("first run fails", details: ["run": "1"])
        } body: {
            #expect(await eventually { (try? await fixture.queue.stats().deadLetters) == UInt64(count) })
        }
        return ids
    }

    @Test func replayPutsTheTaskBackWithAFreshAttemptAndItsIDThenDeletesTheRecord() async throws {
        try await withProcessingFixture(maxDeliveries: 2) { fixture in
            _ = try await deadLetter(fixture, count: 2, prefix: "replay")
            let records = try await fixture.queue.deadLetters().all()
            #expect(records.count == 2)
            let first = try #require(records.first)
            #expect(try await fixture.queue.deadLetter(sequence: first.sequence).id == first.id)

            let receipt = try await fixture.queue.replayDeadLetter(sequence: first.sequence)
            #expect(receipt.id == first.id)
            #expect(!receipt.duplicate)
            #expect(try await fixture.queue.stats().deadLetters == 1)
            #expect(try await fixture.queue.stats().messages == 1)
            // The record is gone: a second replay of the same sequence is an error, not a second copy.
            await #expect(throws: ProtoqueueError.self) {
                try await fixture.queue.replayDeadLetter(sequence: first.sequence)
            }

            let seen = Recorder<(TaskID, Int, String?, String)>()
            try await withProcessor(fixture.queue) { task, context in
                seen.record((context.id, context.attempt, context.headers["Protoqueue-Replayed-From"], task.to))
                return .success
            } body: {
                #expect(await eventually { (try? await fixture.queue.stats().messages) == 0 })
            }
            let replayed = try #require(seen.all.first)
            #expect(seen.count == 1)
            #expect(replayed.0 == first.id)
            #expect(replayed.1 == 1)
            #expect(replayed.2 == "\(fixture.queue.layout.deadLetterStreamName):\(first.sequence)")
            #expect(replayed.3 == first.task?.to)
        }
    }

    @Test func interruptedReplayDoesNotDuplicate() async throws {
        try await withProcessingFixture(maxDeliveries: 2) { fixture in
            _ = try await deadLetter(fixture, count: 1, prefix: "interrupted")
            let record = try #require(try await fixture.queue.deadLetters().all().first)
            let layout = fixture.queue.layout
            // A replay that published and crashed before deleting the record: same Nats-Msg-Id as the library uses.
            _ = try fixture.raw.publish(
                subject: layout.readySubject, data: record.payload,
                headers: [
                    "Nats-Msg-Id": "replay:\(layout.deadLetterStreamName):\(record.sequence)",
                    "Protoqueue-Type": EmailTask.protoMessageName,
                ]
            )
            #expect(try await fixture.queue.stats().messages == 1)
            let receipt = try await fixture.queue.replayDeadLetter(sequence: record.sequence)
            #expect(receipt.duplicate)
            let stats = try await fixture.queue.stats()
            #expect(stats.messages == 1)
            #expect(stats.deadLetters == 0)
        }
    }

    @Test func replayAllAndPurge() async throws {
        try await withProcessingFixture(maxDeliveries: 2) { fixture in
            _ = try await deadLetter(fixture, count: 5, prefix: "bulk")
            let all = try await fixture.queue.deadLetters().all()
            #expect(all.count == 5)
            let fromThird = try await fixture.queue.deadLetters(fromSequence: all[2].sequence).all()
            #expect(fromThird.map(\.sequence) == all.dropFirst(2).map(\.sequence))
            let firstTwo = all.prefix(2)
            try await fixture.queue.replayDeadLetter(sequence: firstTwo[0].sequence)
            // Listing skips the deleted record.
            #expect(try await fixture.queue.deadLetters().all().count == 4)
            #expect(try await fixture.queue.replayAllDeadLetters() == 4)
            var stats = try await fixture.queue.stats()
            #expect(stats.deadLetters == 0)
            #expect(stats.messages == 5)

            // Fail them again and purge.
            try await withProcessor(fixture.queue) { _, _ in
                .failure("again")
            } body: {
                #expect(await eventually { (try? await fixture.queue.stats().deadLetters) == 5 })
            }
            let again = try await fixture.queue.deadLetters().all()
            #expect(
                again.allSatisfy {
                    $0.error == "again" && $0.details.isEmpty && $0.id?.rawValue.hasPrefix("bulk-") == true
                })
            #expect(try await fixture.queue.purgeDeadLetters() == 5)
            stats = try await fixture.queue.stats()
            #expect(stats.deadLetters == 0)
            #expect(stats.messages == 0)
            #expect(try await fixture.queue.deadLetters().all().isEmpty)
        }
    }

    @Test func customDeadLetterStreamAndDisabledDeadLetters() async throws {
        let name = uniqueName("custom")
        let custom = DeadLetterConfiguration(streamName: "\(name)_FAILED", subject: "failed.\(name)")
        try await withProcessingFixture(deadLetter: custom) { fixture in
            #expect(fixture.queue.layout.deadLetterStreamName == "\(name)_FAILED")
            _ = try await deadLetter(fixture, count: 1)
            let stored = try fixture.raw.message(stream: "\(name)_FAILED", sequence: 1)
            #expect(stored.subject == "failed.\(name)")

            try await withProcessingFixture(deadLetter: .disabled) { off in
                try await off.enqueue(1)
                try await withProcessor(off.queue) { _, _ in
                    .failure("dropped")
                } body: {
                    #expect(await eventually { (try? await off.queue.stats().messages) == 0 })
                }
                #expect(try await off.queue.stats().deadLetters == 0)
                await #expect(throws: ProtoqueueError.self) { try await off.queue.deadLetters().all() }
            }
        }
    }

    @Test func deadLetterSubjectInsideTheWorkStreamIsRefused() async throws {
        let url = try await SharedServer.url()
        try await withConnection(url) { connection in
            var configuration = QueueConfiguration()
            let name = uniqueName("overlap")
            configuration.deadLetter = .init(subject: "protoqueue.\(name).dead")
            await #expect(throws: ProtoqueueError.self) {
                _ = try await Queue<EmailTask>(
                    connection: connection, name: name, configuration: configuration, logger: testLogger())
            }
        }
    }
}
