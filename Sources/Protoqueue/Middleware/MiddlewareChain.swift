/// A queue's middleware, run in list order (``QueueMiddleware``). Empty for most queues: callers check
/// ``isEmpty`` first so that a queue without middleware does no extra work.
struct MiddlewareChain: Sendable {
    let list: [any QueueMiddleware]

    var isEmpty: Bool { list.isEmpty }

    /// Every middleware's ``QueueMiddleware/willEnqueue(_:)``, in order; the first refusal stops.
    func willEnqueue(_ task: inout OutgoingTask) async throws(ProtoqueueError) {
        for middleware in list { try await middleware.willEnqueue(&task) }
    }

    /// Runs `enqueue` inside every middleware's ``QueueMiddleware/send(_:next:)``, the first outermost.
    func send(
        _ operation: EnqueueOperation, enqueue: () async throws(ProtoqueueError) -> EnqueueOutcome
    ) async throws(ProtoqueueError) -> EnqueueOutcome {
        try await sendStep(0, operation, enqueue)
    }

    private func sendStep(
        _ index: Int, _ operation: EnqueueOperation, _ enqueue: () async throws(ProtoqueueError) -> EnqueueOutcome
    ) async throws(ProtoqueueError) -> EnqueueOutcome {
        guard index < list.count else { return try await enqueue() }
        return try await list[index].send(operation) { () async throws(ProtoqueueError) -> EnqueueOutcome in
            try await sendStep(index + 1, operation, enqueue)
        }
    }

    /// Runs `handler` inside every middleware's ``QueueMiddleware/process(_:context:next:)``, the first outermost.
    func process(
        _ task: any ProtoqueueMessage, context: TaskContext, handler: () async throws -> TaskResult
    ) async throws -> TaskResult {
        try await step(0, task, context, handler)
    }

    private func step(
        _ index: Int, _ task: any ProtoqueueMessage, _ context: TaskContext, _ handler: () async throws -> TaskResult
    ) async throws -> TaskResult {
        guard index < list.count else { return try await handler() }
        return try await list[index].process(task, context: context) {
            try await step(index + 1, task, context, handler)
        }
    }

    /// Every middleware's ``QueueMiddleware/settled(_:)``, in order.
    func settled(_ settlement: TaskSettlement) async {
        for middleware in list { await middleware.settled(settlement) }
    }

    /// Every middleware's ``QueueMiddleware/handlerStuck(_:)``, in order.
    func handlerStuck(_ handler: StuckHandler) async {
        for middleware in list { await middleware.handlerStuck(handler) }
    }
}
