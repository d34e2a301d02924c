import Foundation
import Protoqueue
import Synchronization
import Testing

/// `enqueueBatch(from:)` and `enqueueBatch(fromTasks:)`: results read by the caller's own code, in order.
@Suite(
    "enqueueBatch streaming results",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct StreamingBatchTests {
    func queue(_ connection: NATSConnection) async throws -> Queue<InteropTask> {
        try await Queue<InteropTask>(connection: connection, name: uniqueName("stream"), logger: testLogger())
    }

    @Test func plainMessagesGetGeneratedIdsAndOrderedResults() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            let queue = try await queue(connection)
            let tasks = (0..<500).map { InteropTask(to: "t\($0)") }
            var positions: [Int] = []
            var ids: Set<TaskID> = []
            let summary = try await queue.enqueueBatch(fromTasks: tasks.async, options: .init(window: 32)) { results in
                for await outcome in results {
                    positions.append(outcome.position)
                    if case .success(let receipt) = outcome.result { ids.insert(receipt.id) }
                }
            }
            #expect(positions == Array(0..<500))
            #expect(ids.count == 500)
            #expect(summary.total == 500 && summary.succeeded == 500)
            #expect(try await queue.stats().messages == 500)
        }
    }

    struct Stop: Error {}

    @Test func aThrowingBodyStopsReadingTheInputAndIsRethrown() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            let queue = try await queue(connection)
            let read = Atomic<Int>(0)
            let input = (0..<100_000).async.map { index in
                read.add(1, ordering: .relaxed)
                return EnqueueItem(InteropTask(to: "t\(index)"))
            }
            await #expect(throws: Stop.self) {
                try await queue.enqueueBatch(from: input, options: .init(window: 64)) { results in
                    var seen = 0
                    for await _ in results {
                        seen += 1
                        if seen == 10 { throw Stop() }
                    }
                }
            }
            #expect(read.load(ordering: .relaxed) < 100_000)
            let stored = try await queue.stats().messages
            #expect(stored >= 10 && stored < 100_000)
        }
    }

    @Test func aBodyThatReturnsEarlyLetsTheBatchFinish() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            let queue = try await queue(connection)
            let summary = try await queue.enqueueBatch(
                fromTasks: (0..<2_000).map { InteropTask(to: "t\($0)") }.async, options: .init(window: 16)
            ) { _ in }
            #expect(summary.total == 2_000 && summary.succeeded == 2_000)
            #expect(try await queue.stats().messages == 2_000)
        }
    }
}

extension Sequence where Self: Sendable, Element: Sendable {
    /// The elements as an asynchronous sequence, for batch inputs.
    var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
