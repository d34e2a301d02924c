import Foundation
import NATSTestSupport
import Testing

@testable import Protoqueue

@Suite(
    "Enqueue against a real nats-server",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct EnqueueTests {
    @Test func enqueueStoresTaskWithWireHeaders() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("enq")
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        let before = WallClockForTests.nowMilliseconds()
        let task = InteropTask(to: "ada@example.com", subject: "hello", priority: 2, tags: ["x"])
        let receipt = try await queue.enqueue(task, options: .init(metadata: ["tenant": "acme", "trace.id": "abc"]))
        #expect(receipt.sequence == 1)
        #expect(receipt.duplicate == false)
        #expect(receipt.stream == name)
        #expect(receipt.id.rawValue.count == 36)

        let raw = try RawNATS(url: url)
        let stored = try raw.message(stream: name, sequence: receipt.sequence)
        #expect(stored.subject == "protoqueue.\(name).ready.default")
        #expect(try InteropTask(serializedBytes: stored.data) == task)
        #expect(stored.headers["Nats-Msg-Id"] == receipt.id.rawValue)
        #expect(stored.headers["Protoqueue-Type"] == "protoqueue.testing.InteropTask")
        #expect(stored.headers["Protoqueue-Version"] == "1")
        #expect(stored.headers["Content-Type"] == "application/x-protobuf")
        #expect(stored.headers["Protoqueue-Meta-tenant"] == "acme")
        #expect(stored.headers["Protoqueue-Meta-trace.id"] == "abc")
        let enqueuedAt = try #require(stored.headers["Protoqueue-Enqueued-At"].flatMap { Int64($0) })
        #expect(enqueuedAt >= before - 1000 && enqueuedAt <= WallClockForTests.nowMilliseconds() + 1000)
        await connection.close()
    }

    @Test func sameIDTwiceIsStoredOnce() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("dedup")
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        let first = try await queue.enqueue(InteropTask(to: "a"), options: .init(id: "order-42"))
        let second = try await queue.enqueue(InteropTask(to: "a"), options: .init(id: "order-42"))
        let other = try await queue.enqueue(InteropTask(to: "b"), options: .init(id: "order-43"))
        #expect(first.duplicate == false)
        #expect(second.duplicate == true)
        #expect(second.sequence == first.sequence)
        #expect(second.id == "order-42")
        #expect(other.sequence == first.sequence + 1)
        let stats = try await queue.stats()
        #expect(stats.messages == 2)
        await connection.close()
    }

    @Test func statsReportDepth() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let queue = try await Queue<InteropTask>(
            connection: connection, name: uniqueName("stats"), logger: testLogger())
        let empty = try await queue.stats()
        #expect(empty.messages == 0 && empty.pending == 0 && empty.deadLetters == 0 && empty.consumerCount == 2)
        for index in 0..<5 { _ = try await queue.enqueue(InteropTask(to: "t\(index)")) }
        let stats = try await queue.stats()
        #expect(stats.messages == 5)
        #expect(stats.pending == 5)
        #expect(stats.firstSequence == 1 && stats.lastSequence == 5)
        #expect(stats.ackPending == 0 && stats.redelivered == 0 && stats.waitingPulls == 0)
        #expect(stats.deadLetters == 0)
        #expect(stats.bytes > 0)
        await connection.close()
    }

    @Test func invalidHeadersAndIDsAreRejectedBeforeSending() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("hdr")
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        let cases: [(EnqueueOptions, ProtoqueueError.Code)] = [
            (.init(metadata: ["bad key": "v"]), .invalidHeader),
            (.init(metadata: ["k": "line\r\nInjected: yes"]), .invalidHeader),
            (.init(metadata: ["Nats-Expected-Stream": "x"]), .invalidHeader),
            (.init(metadata: ["a:b": "v"]), .invalidHeader),
            (.init(id: "has space"), .invalidName),
            (.init(id: ""), .invalidName),
        ]
        for (options, code) in cases {
            do {
                _ = try await queue.enqueue(InteropTask(to: "x"), options: options)
                Issue.record("accepted \(options)")
            } catch {
                #expect(error.code == code, "\(options): \(error)")
            }
        }
        #expect(try await queue.stats().lastSequence == 0)
        await connection.close()
    }

    @Test func payloadOverServerMaximumIsRejectedWithSizeAndLimit() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let queue = try await Queue<InteropTask>(connection: connection, name: uniqueName("big"), logger: testLogger())
        let limit = connection.maxPayload
        #expect(limit > 0)
        // Body alone fits; body plus headers does not: headers count toward max_payload.
        let task = InteropTask(to: String(repeating: "x", count: limit - 10))
        let body = try task.serializedBytes().count
        #expect(body <= limit)
        do {
            _ = try await queue.enqueue(task)
            Issue.record("accepted an oversized task")
        } catch {
            #expect(error.code == .payloadTooLarge)
            #expect(error.message.contains("\(limit)"))
            #expect(error.message.contains("body \(body)"))
        }
        #expect(try await queue.stats().lastSequence == 0)
        await connection.close()
    }

    @Test func streamMaximumMessageSizeIsCheckedBeforeSending() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let queue = try await Queue<InteropTask>(
            connection: connection, name: uniqueName("msgsize"), configuration: .init(maxMessageSize: 512),
            logger: testLogger()
        )
        _ = try await queue.enqueue(InteropTask(to: "small"))
        do {
            _ = try await queue.enqueue(InteropTask(to: String(repeating: "y", count: 600)))
            Issue.record("accepted a task over the stream's limit")
        } catch {
            #expect(error.code == .payloadTooLarge)
            #expect(error.message.contains("512"))
        }
        // A unique task counts its uniqueness headers, and is refused before it takes its key.
        let key = String(repeating: "k", count: 40)
        let fits = InteropTask(to: String(repeating: "y", count: 230))
        _ = try await queue.enqueue(fits, options: .init(id: "plain"))
        do {
            _ = try await queue.enqueue(fits, options: .init(id: "unique", unique: .init(key: key)))
            Issue.record("accepted a unique task over the stream's limit")
        } catch {
            #expect(error.code == .payloadTooLarge && error.message.contains("512"), "\(error)")
        }
        let taken = try await queue.enqueue(InteropTask(to: "s"), options: .init(id: "after", unique: .init(key: key)))
        #expect(!taken.duplicate && taken.id == "after")
        #expect(try await queue.stats().messages == 3)
        await connection.close()
    }

    @Test func subjectWithoutStreamIsAClearError() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("nostream")
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        try RawNATS(url: url).deleteStream(name)
        let started = ContinuousClock.now
        do {
            _ = try await queue.enqueue(InteropTask(to: "lost"))
            Issue.record("enqueue to a subject without a stream succeeded")
        } catch {
            #expect(error.code == .noStreamForSubject, "\(error)")
            #expect(error.message.contains("protoqueue.\(name).ready.default"))
        }
        #expect(ContinuousClock.now - started < .seconds(4))
        await connection.close()
    }

    @Test func closeIsIdempotentAndLaterCallsFail() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let queue = try await Queue<InteropTask>(
            connection: connection, name: uniqueName("close"), logger: testLogger())
        _ = try await queue.enqueue(InteropTask(to: "x"))
        async let first: Void = connection.close()
        async let second: Void = connection.close()
        _ = await (first, second)
        await connection.close()
        do {
            _ = try await queue.enqueue(InteropTask(to: "y"))
            Issue.record("enqueue after close succeeded")
        } catch {
            #expect(error.code == .connectionClosed)
        }
    }
}

enum WallClockForTests {
    static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
