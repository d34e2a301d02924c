/// Code that runs around every task a queue enqueues and processes: metadata and tracing headers on the way in,
/// timing and error reporting around the handler, auditing of the final outcome.
///
/// ## Overview
/// Every hook has a default that does nothing, so a middleware implements only what it needs:
/// ```swift
/// struct TenantCheck: QueueMiddleware {
///     func willEnqueue(_ task: inout OutgoingTask) async throws(ProtoqueueError) {
///         guard let tenant = task.metadata["tenant"], allowed.contains(tenant) else {
///             throw ProtoqueueError(.refused, "task \(task.id) of \(task.taskType) names no allowed tenant")
///         }
///     }
/// }
/// let queue = try await Queue<EmailTask>(
///     connection: connection, name: "emails", middleware: [TenantCheck(), AuditLog()], logger: logger)
/// ```
/// A queue runs its middleware in list order: ``willEnqueue(_:)`` and ``settled(_:)`` in order, and
/// ``send(_:next:)`` and ``process(_:context:next:)`` with the first middleware outermost. The guarantees of the
/// queue do not change: a task refused by ``willEnqueue(_:)`` is not sent (a batch reports it as that task's
/// failure), an error thrown around the handler counts as the handler's, and ``settled(_:)`` runs after the server
/// was told.
public protocol QueueMiddleware: Sendable {
    /// Called before a task is encoded and sent, on the enqueuing task (for a batch, on a child of it, in input
    /// order). It may change the id, the metadata and the extra headers, or refuse the task by throwing.
    /// - Parameter task: The task about to be enqueued.
    /// - Throws: A ``ProtoqueueCodec/ProtoqueueError`` to refuse the task; nothing is sent.
    func willEnqueue(_ task: inout OutgoingTask) async throws(ProtoqueueError)

    /// Called around each enqueue call, a single task or a whole batch: call `next` to prepare (running
    /// ``willEnqueue(_:)`` for each task inside it) and send the tasks, and return what it returns. The place for
    /// producer spans and publish timing.
    /// - Parameters:
    ///   - operation: The queue, the subject, and whether it is one task or a batch.
    ///   - next: Runs the rest of the chain and the enqueue; for a single task it throws the task's error, for a
    ///     batch it reports the failures in its outcome.
    /// - Returns: What `next` returned.
    /// - Throws: What `next` threw.
    func send(
        _ operation: EnqueueOperation, next: () async throws(ProtoqueueError) -> EnqueueOutcome
    ) async throws(ProtoqueueError) -> EnqueueOutcome

    /// Called around the handler: call `next` to run the rest of the chain and the handler, and return its result
    /// or another one.
    /// - Parameters:
    ///   - task: The decoded task.
    ///   - context: The task's context, as the handler gets it.
    ///   - next: Runs the next middleware and, after the last, the handler.
    /// - Returns: The result that decides the task's settlement.
    /// - Throws: An error, which counts as the handler's (a retry under the queue's policy).
    func process(
        _ task: any ProtoqueueMessage, context: TaskContext, next: () async throws -> TaskResult
    ) async throws -> TaskResult

    /// Called once the server was told what became of a delivered task: acknowledged, retried, dead-lettered,
    /// terminated, or not settled. Also for tasks no handler ran (refused or undecodable payloads, grace deliveries).
    ///
    /// A queue calls it on a task of its own, for one settlement at a time, in the order the settlements went out;
    /// the handler's task has gone on to its next delivery meanwhile. A slow hook delays the later hooks (their
    /// settlements wait in memory), never processing. `process` returns after the last hook returned.
    /// - Parameter settlement: The task and its final outcome.
    func settled(_ settlement: TaskSettlement) async

    /// Called when a handler is still running a second after its timeout cancelled it: it ignores cancellation and
    /// keeps its worker slot. Called on the same task as ``settled(_:)``, once per stuck handler.
    /// - Parameter handler: The task whose handler is stuck.
    func handlerStuck(_ handler: StuckHandler) async
}

extension QueueMiddleware {
    /// Does nothing.
    public func willEnqueue(_ task: inout OutgoingTask) async throws(ProtoqueueError) {}

    /// Calls `next`.
    public func send(
        _ operation: EnqueueOperation, next: () async throws(ProtoqueueError) -> EnqueueOutcome
    ) async throws(ProtoqueueError) -> EnqueueOutcome {
        try await next()
    }

    /// Calls `next`.
    public func process(
        _ task: any ProtoqueueMessage, context: TaskContext, next: () async throws -> TaskResult
    ) async throws -> TaskResult {
        try await next()
    }

    /// Does nothing.
    public func settled(_ settlement: TaskSettlement) async {}

    /// Does nothing.
    public func handlerStuck(_ handler: StuckHandler) async {}
}
