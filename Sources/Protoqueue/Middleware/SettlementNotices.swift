/// The final outcomes of one queue's deliveries on their way to its middleware's ``QueueMiddleware/settled(_:)``.
///
/// The settling thread posts each outcome once the server was told; one task per queue (``run()``) calls the hooks,
/// one settlement at a time, in the order the settlements went out. A handler task thus goes on to its next
/// delivery at once instead of waiting for its settlement to be written, and a slow hook delays later hooks, not
/// processing.
final class SettlementNotices: Sendable {
    private let pending = HandOffQueue<TaskSettlement>(maxParked: 0)
    private let middleware: MiddlewareChain

    init(middleware: MiddlewareChain) {
        self.middleware = middleware
    }

    /// Queues a settlement for the hooks (from any thread).
    func post(_ settlement: TaskSettlement) {
        pending.handOver(settlement)
    }

    /// Calls the hooks for every posted settlement until ``close()``, then for those still queued.
    func run() async {
        while let settlement = await pending.next() { await middleware.settled(settlement) }
        for settlement in pending.drain() { await middleware.settled(settlement) }
    }

    /// Ends ``run()`` once it has called the hooks for everything posted so far. Call when no more settlements can
    /// be posted: after the processor finished (``ProcessorEngine/finish()``).
    func close() {
        pending.close()
    }
}
