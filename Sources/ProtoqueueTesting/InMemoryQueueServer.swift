import Logging
public import Protoqueue
import ServiceLifecycle

/// A JetStream stand-in in memory, for tests of producers and handlers without a `nats-server`.
///
/// ## Overview
/// ```swift
/// let server = InMemoryQueueServer()
/// let queue = try await Queue<EmailTask>(connection: server.connection, name: "emails", logger: logger)
/// try await queue.enqueue(EmailTask(to: "ada@example.com"))
/// try await server.runUntilIdle(queue) { task, context in .retry }
/// await server.advance(by: .seconds(5))          // the retry delay passes on the virtual clock
/// try await server.runUntilIdle(queue) { task, context in .success }
/// #expect(try await server.tasks(of: queue).isEmpty)
/// ```
/// Queues opened on its ``connection`` run the same `Queue` and worker
/// code as on a server, with the same semantics: ids and the duplicate window, work-queue retention, ack waits,
/// `-NAK` delays, `MaxDeliver` (attempts plus grace deliveries), `MaxAckPending`, dead-letter records with the
/// same headers, replay, purge and stats. Ack waits, retry delays and duplicate windows run on a virtual clock that
/// only ``advance(by:)`` moves; a worker's pull requests use real time, as they must.
///
/// Closing the ``connection`` stops the workers on it (as a closed connection does) and ends the server's delivery
/// thread; the server refuses calls afterwards. `docs/testing.md` lists what it models and what it does not.
public final class InMemoryQueueServer: Sendable {
    let broker: MemoryBroker
    /// A connection to this server.
    public let connection: NATSConnection

    /// Creates an empty server.
    /// - Parameter maxPayload: The largest task (headers plus body) it accepts, as a server's `max_payload`.
    public init(maxPayload: Int = 1_048_576) {
        broker = MemoryBroker(maxPayload: maxPayload)
        connection = NATSConnection.inMemory(broker)
    }

    /// The virtual time elapsed since the server was made.
    public var elapsed: Duration { broker.elapsed }

    /// Moves the virtual clock by `duration`: ack waits and retry delays that pass make their tasks deliverable
    /// again. Returns once the server has handed them to waiting workers.
    ///
    /// A retry delay starts when the handler's settlement reaches the server, as on a real one: to let a delay pass
    /// after a handler returned, wait for that first (``waitUntilIdle(timeout:)``); time advanced while the handler
    /// still runs passes before its delay starts.
    public func advance(by duration: Duration) async {
        broker.advance(by: duration)
        await settle()
    }

    /// Whether no task is deliverable now and no worker holds one (tasks waiting for a retry delay or an ack wait
    /// on the virtual clock do not count).
    public var isIdle: Bool { broker.isIdle }

    /// Waits until ``isIdle`` holds.
    /// - Parameter timeout: How long to wait at most, in real time.
    /// - Throws: `ProtoqueueError.Code.timeout` after `timeout` of real time.
    public func waitUntilIdle(timeout: Duration = .seconds(10)) async throws(ProtoqueueError) {
        let deadline = ContinuousClock.now + timeout
        while !broker.isIdle {
            guard ContinuousClock.now < deadline else {
                throw ProtoqueueError(.timeout, "the in-memory server was not idle after \(timeout)")
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Runs a worker on `queue` until the server is idle (``isIdle``), then shuts it down gracefully: running
    /// handlers finish (within `options.shutdownTimeout`). When they leave new work behind (a handler that outlived
    /// its ack wait and enqueued a task after the server looked idle), the worker runs again until none is left.
    /// - Parameters:
    ///   - queue: A queue on this server.
    ///   - options: The worker's options.
    ///   - timeout: How long to wait for idleness at most, in real time.
    ///   - handler: The task handler.
    /// - Throws: What `Queue.process(options:handler:)` throws, or a timeout after `timeout` of real time.
    public func runUntilIdle<Message>(
        _ queue: Queue<Message>,
        options: ProcessOptions = ProcessOptions(concurrency: 4, fetchTimeout: .milliseconds(200)),
        timeout: Duration = .seconds(10),
        handler: @escaping Queue<Message>.Handler
    ) async throws {
        try await runUntilIdle(queue.processor(options: options, handler: handler), timeout: timeout)
    }

    /// Runs `worker` until the server is idle (``isIdle``), then shuts it down gracefully, as
    /// ``runUntilIdle(_:options:timeout:handler:)`` does with one queue: for handlers of several task types,
    /// including those that enqueue follow-up tasks to another queue.
    /// - Parameters:
    ///   - worker: A worker whose queues are on this server.
    ///   - timeout: How long to wait for idleness at most, in real time.
    /// - Throws: What `QueueWorker.run()` throws, or a timeout after `timeout` of real time.
    public func runUntilIdle(_ worker: QueueWorker, timeout: Duration = .seconds(10)) async throws {
        try await runUntilIdle(worker as any Service, timeout: timeout)
    }

    private func runUntilIdle(_ service: any Service, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        repeat {
            // A group of one, so that the worker gets a real graceful shutdown (not a cancellation, which would
            // cancel its running handlers); returning on its own (`stopWhenIdle`) ends the group without an error.
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                    logger: Logger(label: "protoqueue.testing", factory: { _ in SwiftLogNoOpLogHandler() })))
            let running = Task { try await group.run() }
            // Let the worker send its first pull requests before looking for idleness.
            try? await Task.sleep(for: .milliseconds(5))
            do {
                try await waitUntilIdle(timeout: deadline - ContinuousClock.now)
            } catch {
                running.cancel()
                _ = try? await running.value
                throw error
            }
            await group.triggerGracefulShutdown()
            try await running.value
        } while !broker.isIdle
    }

    /// The tasks stored in `queue`'s stream, in sequence order (on a work queue: not yet acknowledged).
    public func tasks<Message>(of queue: Queue<Message>) async throws(ProtoqueueError) -> [StoredTask<Message>] {
        var tasks: [StoredTask<Message>] = []
        for stored in broker.messages(of: queue.layout.streamName) {
            tasks.append(try await queue.peek(sequence: stored.sequence))
        }
        return tasks
    }

    /// Every dead-letter record of `queue`, oldest first.
    public func deadLetters<Message>(of queue: Queue<Message>) async throws -> [DeadLetter<Message>] {
        var letters: [DeadLetter<Message>] = []
        for try await letter in queue.deadLetters() { letters.append(letter) }
        return letters
    }

    /// Stores a message as a foreign producer would publish it (any headers, any body), for tests of what a
    /// worker does with tasks it did not enqueue.
    /// - Parameters:
    ///   - subject: The subject, such as a queue's `QueueLayout.readySubject`.
    ///   - headers: The headers, in order; a `Nats-Msg-Id` takes part in the duplicate window.
    ///   - body: The payload.
    /// - Returns: The stream sequence it got (that of the earlier message for a duplicate).
    /// - Throws: `ProtoqueueError.Code.noStreamForSubject` when no stream captures `subject`.
    @discardableResult
    public func publish(
        subject: String, headers: [(name: String, value: String)] = [], body: [UInt8]
    ) throws(ProtoqueueError) -> UInt64 {
        try broker.publishRaw(subject: subject, headers: headers, body: body)
    }

    /// Waits until the server has handed out what the last change made deliverable.
    private func settle() async {
        for _ in 0..<100 {
            if broker.isQuiet { return }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}
