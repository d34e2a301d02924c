import Testing

@testable import Protoqueue

/// Where a queue's `settled` hooks run, for each kind of middleware list (`SettlementHooks.of`).
@Suite("Settlement hooks")
struct SettlementHooksTests {
    private struct Audit: QueueMiddleware {
        func settled(_ settlement: TaskSettlement) async {}
    }

    private enum Expected: Equatable {
        case none
        /// Recorded where the task is settled, by this many middleware.
        case inline(Int)
        case queued
    }

    private static let table: [(String, [any QueueMiddleware], Expected)] = [
        ("no middleware", [], .none),
        ("tracing only: it has no settled hook", [QueueTracing()], .none),
        ("metrics only", [QueueMetrics()], .inline(1)),
        ("tracing and metrics", [QueueTracing(), QueueMetrics()], .inline(1)),
        ("two metrics", [QueueMetrics(), QueueTracing(), QueueMetrics()], .inline(2)),
        ("the application's own", [Audit()], .queued),
        ("the package's and the application's", [QueueTracing(), QueueMetrics(), Audit()], .queued),
        ("the application's first", [Audit(), QueueMetrics()], .queued),
    ]

    @Test(arguments: table.indices)
    func aListGetsItsHooksRunWhereItNeeds(_ row: Int) {
        let (name, list, expected) = Self.table[row]
        let found: Expected =
            switch SettlementHooks.of(MiddlewareChain(list: list), queue: "emails", taskType: "example.Email") {
            case nil: .none
            case .inline(let recorders): .inline(recorders.count)
            case .queued: .queued
            }
        #expect(found == expected, "\(name)")
    }
}
