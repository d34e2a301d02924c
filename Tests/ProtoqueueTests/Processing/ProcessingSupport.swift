import Foundation
import Logging
import NATSTestSupport
import Protoqueue
import Synchronization
import TaskSchemas

/// Thread-safe event log for handlers under test.
final class Recorder<Event: Sendable>: Sendable {
    private let events = Mutex<[Event]>([])

    func record(_ event: Event) { events.withLock { $0.append(event) } }
    var all: [Event] { events.withLock { $0 } }
    var count: Int { events.withLock { $0.count } }
}

/// A processing test's queue on the shared server, with its own stream.
struct ProcessingFixture {
    let connection: NATSConnection
    let queue: Queue<EmailTask>
    let raw: RawNATS
    let url: String

    static func make(
        _ prefix: String = "proc",
        maxDeliveries: Int? = 3,
        ackWait: Duration = .seconds(5),
        retry: RetryPolicy = .fixed(.milliseconds(50)),
        deadLetter: DeadLetterConfiguration = DeadLetterConfiguration(),
        timeout: Duration? = nil
    ) async throws -> ProcessingFixture {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        var configuration = QueueConfiguration(consumer: .init(ackWait: ackWait, maxDeliveries: maxDeliveries))
        configuration.retry = retry
        configuration.timeout = timeout
        configuration.deadLetter = deadLetter
        let queue = try await Queue<EmailTask>(
            connection: connection, name: uniqueName(prefix), configuration: configuration, logger: testLogger())
        return ProcessingFixture(connection: connection, queue: queue, raw: try RawNATS(url: url), url: url)
    }

    func close() async {
        await connection.close()
    }

    /// Enqueues `count` tasks with ids `<prefix>-<n>` and returns the ids.
    @discardableResult
    func enqueue(_ count: Int, prefix: String = "task", metadata: [String: String] = [:]) async throws -> [TaskID] {
        var ids: [TaskID] = []
        for index in 0..<count {
            let id: TaskID = "\(prefix)-\(index)"
            _ = try await queue.enqueue(
                EmailTask(to: "user\(index)@example.com", subject: "hello \(index)"),
                options: .init(id: id, metadata: metadata))
            ids.append(id)
        }
        return ids
    }
}

/// Makes a ``ProcessingFixture`` (same parameters as `make`), runs `body` with it and awaits its close afterwards,
/// also when `body` throws.
func withProcessingFixture<R>(
    _ prefix: String = "proc",
    maxDeliveries: Int? = 3,
    ackWait: Duration = .seconds(5),
    retry: RetryPolicy = .fixed(.milliseconds(50)),
    deadLetter: DeadLetterConfiguration = DeadLetterConfiguration(),
    timeout: Duration? = nil,
    _ body: (ProcessingFixture) async throws -> R
) async throws -> R {
    let fixture = try await ProcessingFixture.make(
        prefix, maxDeliveries: maxDeliveries, ackWait: ackWait, retry: retry, deadLetter: deadLetter, timeout: timeout
    )
    do {
        let result = try await body(fixture)
        await fixture.close()
        return result
    } catch {
        await fixture.close()
        throw error
    }
}

/// Runs `queue.process` in a child task while `body` runs, then cancels it and waits for it to return.
func withProcessor<R: Sendable>(
    _ queue: Queue<EmailTask>,
    options: ProcessOptions = ProcessOptions(concurrency: 4, fetchTimeout: .milliseconds(200)),
    handler: @escaping Queue<EmailTask>.Handler,
    body: () async throws -> R
) async throws -> R {
    try await whileRunning({ try await queue.process(options: options, handler: handler) }, body: body)
}

/// Runs `work` (a worker) in a child task while `body` runs, then cancels it and waits for it to return.
func whileRunning<R: Sendable>(
    _ work: @escaping @Sendable () async throws -> Void,
    body: () async throws -> R
) async throws -> R {
    let worker = Task { try await work() }
    let result: Result<R, any Error>
    do {
        result = .success(try await body())
    } catch {
        result = .failure(error)
    }
    worker.cancel()
    try await worker.value
    return try result.get()
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

struct HandlerFailure: Error, CustomStringConvertible {
    var description: String
}

extension DeadLetters {
    /// Every record, for assertions.
    func all() async throws -> [DeadLetter<Message>] { try await reduce(into: []) { $0.append($1) } }
}
