import Foundation
import NATSServerHarness
import NATSTestSupport
import Synchronization
import Testing

@testable import Protoqueue

@Suite("enqueueBatch", .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct BatchTests {
    @Test func resultsArePerItemInInputOrder() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("batch")
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        let tasks = (0..<2_000).map { InteropTask(to: "user\($0)", priority: Int32($0)) }
        let results = try await queue.enqueueBatch(tasks, options: .init(window: 64))
        #expect(results.count == tasks.count)
        let receipts = results.compactMap { try? $0.get() }
        #expect(receipts.count == tasks.count)
        #expect(receipts.map(\.sequence) == (1...UInt64(tasks.count)).map { $0 })
        #expect(Set(receipts.map(\.id)).count == tasks.count)
        let raw = try RawNATS(url: url)
        for index in [0, 999, 1_999] {
            let stored = try raw.message(stream: name, sequence: receipts[index].sequence)
            #expect(try InteropTask(serializedBytes: stored.data) == tasks[index])
            #expect(stored.headers["Nats-Msg-Id"] == receipts[index].id.rawValue)
        }
        #expect(try await queue.stats().messages == UInt64(tasks.count))
        await connection.close()
    }

    /// nats.c frees an acknowledged message and may give its address to the next message the batch creates; the
    /// batch routes acknowledgements by address, so a small window and many tasks exercise that reuse constantly.
    /// Before the fix an acknowledgement was sometimes matched to the wrong task and the batch never ended.
    @Test func everyAcknowledgementReachesItsOwnTaskWhenMessageAddressesAreReused() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("reuse")
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        let count = 40_000
        let tasks = (0..<count).map { InteropTask(to: "r\($0)") }
        // A hung batch cannot be cancelled from here, so the test polls for it and fails instead of hanging.
        let finished = Mutex<[Result<EnqueueReceipt, ProtoqueueError>]?>(nil)
        let batch = Task {
            let results = try await queue.enqueueBatch(tasks, options: .init(window: 3))
            finished.withLock { $0 = results }
        }
        let deadline = ContinuousClock.now + .seconds(90)
        while finished.withLock({ $0 == nil }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        guard let results = finished.withLock({ $0 }) else {
            Issue.record("the batch did not finish within 90 s")
            return
        }
        try await batch.value
        let receipts = results.compactMap { try? $0.get() }
        #expect(receipts.count == count)
        #expect(receipts.map(\.sequence) == (1...UInt64(count)).map { $0 })
        #expect(try RawNATS(url: url).messageCount(stream: name) == UInt64(count))
        await connection.close()
    }

    @Test func partialFailureReportsEachItem() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("partial")
        // The stream refuses a 11th message (discard new): the server rejects those items asynchronously.
        let queue = try await Queue<InteropTask>(
            connection: connection, name: name, configuration: .init(maxMessages: 10), logger: testLogger()
        )
        var items = (0..<14).map { EnqueueItem(InteropTask(to: "t\($0)"), options: .init(id: "item-\($0)")) }
        items[3].options.metadata = ["bad key": "x"]  // rejected before sending
        items[5].options.id = "item-4"  // duplicate of item 4
        let results = try await queue.enqueueBatch(items, options: .init(window: 4))
        #expect(results.count == 14)
        for (index, result) in results.enumerated() {
            switch (index, result) {
            case (3, .failure(let error)):
                #expect(error.code == .invalidHeader)
            case (5, .success(let receipt)):
                #expect(receipt.duplicate)
                #expect(receipt.id == "item-4")
            case (0...11, .success(let receipt)):
                #expect(receipt.id == "item-\(index)")
                #expect(!receipt.duplicate)
            case (12...13, .failure(let error)):
                #expect(error.code == .publishRejected, "\(error)")
                #expect(error.jetStreamErrorCode != nil)
            default:
                Issue.record("item \(index): unexpected \(result)")
            }
        }
        #expect(try RawNATS(url: url).messageCount(stream: name) == 10)
        await connection.close()
    }

    @Test func asyncSequenceInputStreamsOrderedResults() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("stream")
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        let count = 5_000
        let (input, continuation) = AsyncStream<EnqueueItem<InteropTask>>.makeStream(
            bufferingPolicy: .bufferingOldest(64))
        let positions = Mutex<[Int]>([])
        let sequences = Mutex<[UInt64]>([])
        async let summary = queue.enqueueBatch(from: input, options: .init(window: 128)) { results in
            for await outcome in results {
                let position = outcome.position
                let result = outcome.result
                positions.withLock { $0.append(position) }
                if case .success(let receipt) = result { sequences.withLock { $0.append(receipt.sequence) } }

            }
        }
        for index in 0..<count {
            var item = EnqueueItem(InteropTask(to: "s\(index)"))
            if index == 10 { item.options.metadata = ["x": "bad\nvalue"] }
            while case .dropped = continuation.yield(item) { try await Task.sleep(for: .milliseconds(1)) }
        }
        continuation.finish()
        let result = try await summary
        #expect(result.total == count)
        #expect(result.succeeded == count - 1)
        #expect(result.failed == 1)
        #expect(positions.withLock { $0 } == Array(0..<count))
        #expect(sequences.withLock { $0 } == (1...UInt64(count - 1)).map { $0 })
        #expect(try await queue.stats().messages == UInt64(count - 1))
        await connection.close()
    }

    @Test(.enabled(if: TestEnvironment.privateServerTestsEnabled, "needs nats-server"))
    func timedOutItemsAreResentWithTheSameIDAndStoredOnce() async throws {
        try await withNATSServer { server in
            let connection = try await connect(server.url, requestTimeout: .seconds(2))
            let name = uniqueName("resend")
            let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
            let count = 20_000
            let input = AsyncStream<EnqueueItem<InteropTask>>(bufferingPolicy: .unbounded) { continuation in
                for index in 0..<count { continuation.yield(EnqueueItem(InteropTask(to: "r\(index)"))) }
                continuation.finish()
            }
            let sequences = Mutex<[UInt64]>([])
            let failures = Mutex<[ProtoqueueError]>([])
            let reported = Atomic<Int>(0)
            // Stall the server while the batch runs so acknowledgements time out and items are re-sent.
            async let summary = queue.enqueueBatch(
                from: input, options: .init(window: 256, ackTimeout: .milliseconds(400), maxAttempts: 20)
            ) { results in
                for await outcome in results {
                    reported.add(1, ordering: .relaxed)
                    switch outcome.result {
                    case .success(let receipt): sequences.withLock { $0.append(receipt.sequence) }
                    case .failure(let error): failures.withLock { $0.append(error) }
                    }
                }
            }
            for _ in 0..<600 where reported.load(ordering: .relaxed) < 100 {
                try await Task.sleep(for: .milliseconds(10))
            }
            server.signal(SIGSTOP)
            try await Task.sleep(for: .milliseconds(1_200))
            server.resume()
            let result = try await summary
            #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(3))")
            #expect(result.succeeded == count)
            #expect(result.resent > 0)
            #expect(Set(sequences.withLock { $0 }).count == count)
            let tasks = Array(repeating: 0, count: count)
            #expect(try RawNATS(url: server.url).messageCount(stream: name) == UInt64(tasks.count))
            await connection.close()
        }
    }

    @Test func asyncBatchOnAClosedConnectionFailsInsteadOfHanging() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let queue = try await Queue<InteropTask>(
            connection: connection, name: uniqueName("closed"), logger: testLogger())
        await connection.close()
        let input = AsyncStream<EnqueueItem<InteropTask>> { continuation in
            for index in 0..<10_000 { continuation.yield(EnqueueItem(InteropTask(to: "c\(index)"))) }
            continuation.finish()
        }
        let started = ContinuousClock.now
        do {
            _ = try await queue.enqueueBatch(from: input, options: .init(window: 16))
            Issue.record("a batch on a closed connection succeeded")
        } catch let error as ProtoqueueError {
            #expect(error.code == .connectionClosed)
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}

@Suite(
    "enqueueBatch and close", .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct BatchCloseTests {
    @Test func closingDuringABatchReportsEveryItemAndLosesNoneThatWasAcknowledged() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("closing")
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        let count = 200_000
        let input = AsyncStream<EnqueueItem<InteropTask>>(bufferingPolicy: .unbounded) { continuation in
            for index in 0..<count { continuation.yield(EnqueueItem(InteropTask(to: "c\(index)"))) }
            continuation.finish()
        }
        let reported = Mutex<(stored: Int, closed: Int, other: [ProtoqueueError], positions: Int)>((0, 0, [], 0))
        async let summary = queue.enqueueBatch(from: input, options: .init(window: 256)) { results in
            for await outcome in results {
                let position = outcome.position
                let result = outcome.result
                reported.withLock { state in
                    #expect(position == state.positions)
                    state.positions += 1
                    switch result {
                    case .success: state.stored += 1
                    case .failure(let error) where error.code == .connectionClosed: state.closed += 1
                    case .failure(let error): state.other.append(error)
                    }
                }

            }
        }
        // Close once the batch is demonstrably running.
        for _ in 0..<600 where reported.withLock({ $0.positions }) < 1_000 {
            try await Task.sleep(for: .milliseconds(50))
        }
        await connection.close()
        let result = try await summary
        let (stored, closed, other, positions) = reported.withLock { $0 }
        #expect(positions == count)
        #expect(result.total == count)
        #expect(other.isEmpty, "\(other.prefix(3))")
        #expect(stored + closed == count)
        #expect(stored >= 1_000)
        #expect(closed > 0, "the batch finished before close; make it larger")
        // Every acknowledged task is in the stream.
        #expect(try RawNATS(url: url).messageCount(stream: name) >= UInt64(stored))
    }
}
