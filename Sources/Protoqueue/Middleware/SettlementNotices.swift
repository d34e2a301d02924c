/// The final outcomes of one queue's deliveries on their way to its middleware's ``QueueMiddleware/settled(_:)``.
///
/// The settling thread posts each outcome once the server was told; one task per queue (``run()``) calls the hooks,
/// one settlement at a time, in the order the settlements went out. A handler task thus goes on to its next
/// delivery at once instead of waiting for its settlement to be written, and a slow hook delays later hooks, not
/// processing.
final class SettlementNotices: Sendable {
    private enum Notice: Sendable {
        case settled(TaskSettlement)
        case stuck(StuckHandler)
    }
    private let pending = HandOffQueue<Notice>(maxParked: 0)
    private let middleware: MiddlewareChain

    init(middleware: MiddlewareChain) {
        self.middleware = middleware
    }

    /// Queues a settlement for the hooks (from any thread).
    func post(_ settlement: TaskSettlement) {
        pending.handOver(.settled(settlement))
    }

    /// Queues a stuck handler for the hooks (from any thread).
    func post(_ stuck: StuckHandler) {
        pending.handOver(.stuck(stuck))
    }

    /// Calls the hooks for every posted settlement until ``close()``, then for those still queued.
    func run() async {
        while let notice = await pending.next() { await tell(consume notice) }
        for notice in pending.drain() { await tell(notice) }
    }

    private func tell(_ notice: consuming Notice) async {
        switch consume notice {
        case .settled(let settlement): await middleware.settled(settlement)
        case .stuck(let handler): await middleware.handlerStuck(handler)
        }
    }

    /// Ends ``run()`` once it has called the hooks for everything posted so far. Call when no more settlements can
    /// be posted: after the processor finished (``ProcessorEngine/finish()``).
    func close() {
        pending.close()
    }
}
