import Foundation
import Logging
public import ServiceLifecycle
import Synchronization

extension Queue {
    /// The handler a worker runs for each task.
    public typealias Handler = @Sendable (Message, TaskContext) async throws -> TaskResult

    /// Runs `handler` for the queue's tasks until the calling task is cancelled or a graceful shutdown
    /// (swift-service-lifecycle) is triggered.
    ///
    /// At most ``ProcessOptions/concurrency`` handlers run at once; the worker fetches only as many tasks as it has
    /// free slots. The ``TaskResult`` decides the acknowledgement; a thrown error means "retry under the queue's
    /// ``RetryPolicy``" and, on the last attempt, dead-lettering. A payload that does not decode as `Message` is
    /// dead-lettered at once (reason ``DeadLetterReason/decode``) without calling the handler.
    ///
    /// **Stopping.** On graceful shutdown the worker stops fetching, gives running handlers
    /// ``ProcessOptions/shutdownTimeout`` to finish, then cancels them. On task cancellation running handlers are
    /// cancelled at once. Either way every outcome a handler returns is still applied, a handler that throws
    /// because it was cancelled has its task returned to the server (`-NAK`, no delay), and fetched tasks no
    /// handler started are returned the same way; nothing is lost.
    /// - Parameters:
    ///   - options: Concurrency, fetch timeout, shutdown timeout, ack mode.
    ///   - handler: Called once per delivery with the decoded task and its context.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError`` when the consumer cannot be bound
    ///   (``ProtoqueueCodec/ProtoqueueError/Code/streamNotFound``), the options are invalid, or the connection closed
    ///   underneath the worker (``ProtoqueueCodec/ProtoqueueError/Code/connectionClosed``).
    public func process(
        options: ProcessOptions = ProcessOptions(), handler: @escaping Handler
    ) async throws(ProtoqueueError) {
        let options = try options.validated()
        let dispatches = try await QueueDispatch.start(self, options: options, budget: nil, handler: handler)
        try await QueueDispatch.run(dispatches, stopWhenIdle: options.stopWhenIdle, interval: options.fetchTimeout)
    }

    /// A `Service` running ``process(options:handler:)``, for a `ServiceGroup`: SIGTERM triggers the graceful
    /// shutdown described there.
    ///
    /// ```swift
    /// let group = ServiceGroup(
    ///     services: [queue.processor(options: .init(concurrency: 16)) { task, context in .success }],
    ///     gracefulShutdownSignals: [.sigterm, .sigint],
    ///     logger: logger
    /// )
    /// try await group.run()
    /// ```
    /// - Parameters:
    ///   - options: Concurrency, fetch timeout, shutdown timeout, ack mode.
    ///   - handler: Called once per delivery.
    /// - Returns: The service.
    public func processor(
        options: ProcessOptions = ProcessOptions(), handler: @escaping Handler
    ) -> QueueProcessor<Message> {
        QueueProcessor(queue: self, options: options, handler: handler)
    }
}

/// A worker as a swift-service-lifecycle `Service` (see ``Queue/processor(options:handler:)``).
public struct QueueProcessor<Message: ProtoqueueMessage>: Service {
    /// The queue it processes.
    public let queue: Queue<Message>
    /// Its options.
    public let options: ProcessOptions
    let handler: Queue<Message>.Handler

    /// Runs the worker until graceful shutdown or cancellation.
    /// - Throws: What ``Queue/process(options:handler:)`` throws.
    public func run() async throws {
        try await queue.process(options: options, handler: handler)
    }
}
