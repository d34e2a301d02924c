import Foundation
import NATSTestSupport
import Testing

@testable import Protoqueue

/// A publish that no stream answers (a stream another process is still creating, or one electing a leader) is sent
/// again for up to ``PublishAttempts/noStreamPatience``: here the queue's stream is deleted, the tasks are enqueued,
/// and the stream is created again 300 ms later.
@Suite(
    "A stream that appears late",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct LateStreamTests {
    private static let gap: Duration = .milliseconds(300)

    /// A queue whose stream is gone; `recreate` opens it again, which creates the stream.
    private func queueWithoutStream(
        _ connection: NATSConnection, url: String, prefix: String
    ) async throws -> (queue: Queue<InteropTask>, recreate: @Sendable () async throws -> Void) {
        let name = uniqueName(prefix)
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        try RawNATS(url: url).deleteStream(name)
        return (
            queue,
            {
                _ = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
            }
        )
    }

    @Test func anEnqueueIsStoredOnceTheStreamAppears() async throws {
        let url = try await SharedServer.url()
        try await withConnection(url) { connection in
            let (queue, recreate) = try await queueWithoutStream(connection, url: url, prefix: "latesingle")
            let started = ContinuousClock.now
            let enqueue = Task { try await queue.enqueue(InteropTask(to: "late"), options: .init(id: "late-1")) }
            try await Task.sleep(for: Self.gap)
            try await recreate()
            let receipt = try await enqueue.value
            #expect(receipt.id == "late-1" && !receipt.duplicate && receipt.sequence == 1)
            #expect(ContinuousClock.now - started >= Self.gap)
            #expect(try await queue.stats().messages == 1)
        }
    }

    @Test func aBatchIsStoredWholeOnceTheStreamAppears() async throws {
        let url = try await SharedServer.url()
        try await withConnection(url) { connection in
            let (queue, recreate) = try await queueWithoutStream(connection, url: url, prefix: "latebatch")
            let tasks = (0..<200).map { InteropTask(to: "late\($0)") }
            let batch = Task { try await queue.enqueueBatch(tasks, options: .init(window: 64)) }
            try await Task.sleep(for: Self.gap)
            try await recreate()
            let results = try await batch.value
            let failures = results.compactMap { result -> ProtoqueueError? in
                if case .failure(let error) = result { return error }
                return nil
            }
            #expect(failures.isEmpty, "\(failures.prefix(3))")
            #expect(try await queue.stats().messages == UInt64(tasks.count))
        }
    }
}

extension LateStreamTests {
    @Test func aBatchToNoStreamFailsEveryTaskAsNoStreamAfterOnePatience() async throws {
        let url = try await SharedServer.url()
        try await withConnection(url) { connection in
            let (queue, _) = try await queueWithoutStream(connection, url: url, prefix: "nostreambatch")
            let tasks = (0..<500).map { InteropTask(to: "none\($0)") }
            let started = ContinuousClock.now
            let results = try await queue.enqueueBatch(tasks, options: .init(window: 64))
            let codes = results.map { result -> ProtoqueueError.Code? in
                if case .failure(let error) = result { return error.code }
                return nil
            }
            #expect(codes.allSatisfy { $0 == .noStreamForSubject }, "\(Set(codes.map { "\(String(describing: $0))" }))")
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .seconds(1) && elapsed < .seconds(5), "\(elapsed)")
        }
    }
}
