import Foundation
import NATSTestSupport
import Protoqueue
import ProtoqueueTesting
import Synchronization
import TaskSchemas
import Testing

/// Where a behavioural scenario runs: the in-memory transport of `ProtoqueueTesting`, or the shared nats-server.
enum Backend: String, CustomStringConvertible, Sendable {
    case memory
    case nats

    var description: String { rawValue }

    /// Both, or only memory when no server can run here.
    static var available: [Backend] { TestEnvironment.serverTestsEnabled ? [.memory, .nats] : [.memory] }
}

/// One scenario's queue on a backend, with the steps that differ between backends: time passing (virtual on
/// memory, slept on NATS) and publishing as a foreign producer.
struct BackendQueue {
    let backend: Backend
    let connection: NATSConnection
    let queue: Queue<EmailTask>
    let memory: InMemoryQueueServer?
    let raw: RawNATS?
    /// When the scenario started, on the real clock.
    let started = ContinuousClock.now

    /// The backend's time since the scenario started: virtual on memory, real on NATS. Gaps between events measured
    /// with it show whether a delay was respected on either backend, however loaded the machine is.
    func now() -> Duration { memory?.elapsed ?? (ContinuousClock.now - started) }

    /// Lets `duration` pass: the memory server's virtual clock, or a real sleep.
    func advance(by duration: Duration) async {
        if let memory {
            await memory.advance(by: duration)
        } else {
            try? await Task.sleep(for: duration)
        }
    }

    /// Gives the backend a moment to do whatever is due now (nothing that needs time to pass): on memory, waits
    /// until no handler holds a task and every settlement is applied (at most 1 s).
    func settle() async {
        if let memory {
            _ = try? await memory.waitUntilIdle(timeout: .seconds(1))
            try? await Task.sleep(for: .milliseconds(20))
        } else {
            try? await Task.sleep(for: .milliseconds(80))
        }
    }

    /// Publishes a message to the queue's ready subject as a foreign producer would.
    @discardableResult
    func publishRaw(body: [UInt8], headers: [String: String]) throws -> UInt64 {
        let subject = queue.layout.readySubject
        if let memory {
            return try memory.publish(
                subject: subject, headers: headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, body: body)
        }
        return try raw!.publish(subject: subject, data: body, headers: headers)
    }

    /// Enqueues `count` tasks with ids `<prefix>-<n>`.
    @discardableResult
    func enqueue(_ count: Int, prefix: String = "task") async throws -> [TaskID] {
        var ids: [TaskID] = []
        for index in 0..<count {
            let id = TaskID("\(prefix)-\(index)")
            _ = try await queue.enqueue(
                EmailTask(to: "user\(index)@example.com", subject: "hello \(index)"), options: .init(id: id))
            ids.append(id)
        }
        return ids
    }

    /// Enqueues `count` tasks (``enqueue(_:prefix:)``) and has a worker fail each one into the dead-letter stream.
    func deadLetterNewTasks(_ count: Int) async throws {
        try await enqueue(count)
        try await withProcessor(queue) { _, _ in
            .failure("down")
        } body: {
            #expect(await eventually { (try? await queue.stats().deadLetters) == UInt64(count) })
        }
    }
}

extension BackendQueue {
    /// Opens another queue, of `type`, on the scenario's connection (the same memory server or nats-server), with
    /// a name of its own.
    func openQueue<Message: ProtoqueueMessage>(
        of type: Message.Type, configuration: QueueConfiguration = QueueConfiguration()
    ) async throws -> Queue<Message> {
        try await Queue<Message>(
            connection: connection, name: uniqueName("behaviour"), configuration: configuration, logger: testLogger())
    }
}

/// Enqueues `tasks` into `queue` in one batch, with ids `<prefix>-<n>` in order; fails on any rejected task.
@discardableResult
func enqueue<Message: ProtoqueueMessage>(
    _ tasks: [Message], into queue: Queue<Message>, prefix: String
) async throws -> [TaskID] {
    let items = tasks.enumerated().map { EnqueueItem($0.element, options: .init(id: TaskID("\(prefix)-\($0.offset)"))) }
    return try await queue.enqueueBatch(items).map { try $0.get().id }
}

/// Runs `body` with a fresh queue on `backend` (a unique name on the shared server, or a new memory server).
func withBackend(
    _ backend: Backend,
    maxDeliveries: Int? = 3,
    ackWait: Duration = .seconds(5),
    retry: RetryPolicy = .fixed(.milliseconds(300)),
    maxAckPending: Int = 1000,
    duplicateWindow: Duration = .seconds(120),
    deadLetter: DeadLetterConfiguration = DeadLetterConfiguration(),
    middleware: [any QueueMiddleware] = [],
    events: EventConfiguration = .disabled,
    timeout: Duration? = nil,
    _ body: (BackendQueue) async throws -> Void
) async throws {
    var configuration = QueueConfiguration(
        consumer: .init(ackWait: ackWait, maxDeliveries: maxDeliveries, maxAckPending: maxAckPending))
    configuration.retry = retry
    configuration.timeout = timeout
    configuration.duplicateWindow = duplicateWindow
    configuration.deadLetter = deadLetter
    configuration.events = events
    let connection: NATSConnection
    var memory: InMemoryQueueServer?
    var raw: RawNATS?
    switch backend {
    case .memory:
        let server = InMemoryQueueServer()
        memory = server
        connection = server.connection
    case .nats:
        let url = try await SharedServer.url()
        connection = try await connect(url)
        raw = try RawNATS(url: url)
    }
    do {
        let queue = try await Queue<EmailTask>(
            connection: connection, name: uniqueName("behaviour"), configuration: configuration,
            middleware: middleware, logger: testLogger())
        try await body(BackendQueue(backend: backend, connection: connection, queue: queue, memory: memory, raw: raw))
        await connection.close()
    } catch {
        await connection.close()
        throw error
    }
}

/// The headers of a well-formed task from a foreign producer.
func foreignHeaders(id: String) -> [String: String] {
    [
        "Nats-Msg-Id": id, "Protoqueue-Type": EmailTask.protoMessageName, "Protoqueue-Version": "1",
        "Content-Type": "application/x-protobuf", "Protoqueue-Enqueued-At": "1700000000000",
    ]
}

/// Counts handlers running at once and the most seen.
final class ConcurrencyGauge: Sendable {
    private let state = Mutex((now: 0, most: 0))

    func enter() {
        state.withLock {
            $0.now += 1; $0.most = max($0.most, $0.now)
        }
    }
    func leave() { state.withLock { $0.now -= 1 } }
    var most: Int { state.withLock { $0.most } }
    var now: Int { state.withLock { $0.now } }
}

/// A gate handlers wait at until it opens. Waiting ignores cancellation, and suspends (a cancelled handler does
/// not spin: a few of them must not hold every thread of the cooperative pool).
final class Gate: Sendable {
    private let state = Mutex((open: false, waiting: [CheckedContinuation<Void, Never>]()))

    func release() {
        let waiting = state.withLock { state in
            state.open = true
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for waiter in waiting { waiter.resume() }
    }
    var isOpen: Bool { state.withLock { $0.open } }
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let open = state.withLock { state in
                if !state.open { state.waiting.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }
}
