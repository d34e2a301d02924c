import CNats
import Protoqueue

#if canImport(Glibc)
import Glibc
#endif

/// `process-events`: what lifecycle events cost a worker when their reader is slow. The `process` run (no-op
/// handler, concurrency 128, 100,000 queued tasks) once with events on (a `started` and a `succeeded` event per
/// task) while a raw nats.c subscriber to every queue's events sleeps 1 ms per event (ours), and once with events off
/// (baseline), alternating, twice; the best of each. Prints the events published and dropped by each events run.
let processEventsScenario = Scenario(
    name: "process-events",
    summary: "tasks/s, process with lifecycle events on and a 1 ms/event subscriber vs events off, 100,000 tasks"
) {
    let count = Int(ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_PROCESS_COUNT") ?? "") ?? 100_000
    let subscriber = try SlowEventSubscriber(url: try BenchNATS.url())
    defer { subscriber.close() }
    var ours: [Double] = []
    var baseline: [Double] = []
    for round in 0..<2 {
        baseline.append(try ProcessBench.library(count: count, concurrency: 128, label: "noevents\(round)").rate)
        let run = try ProcessBench.library(
            count: count, concurrency: 128, label: "events\(round)", events: .enabled())
        print(
            "events run \(round): published \(run.events.published), dropped \(run.events.dropped) "
                + "(of \(2 * count)); the slow subscriber read \(subscriber.received)")
        ours.append(run.rate)
    }
    return BenchResult(name: "process-events", ours: ours.max()!, baseline: baseline.max()!, unit: "msgs/s")
}

/// A core NATS subscriber to `protoqueue.*.events.>` that takes 1 ms per message.
final class SlowEventSubscriber: @unchecked Sendable {
    private let connection: OpaquePointer
    private var subscription: OpaquePointer?
    private let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    init(url: String) throws {
        var nc: OpaquePointer?
        guard natsConnection_ConnectTo(&nc, url) == NATS_OK, let nc else { throw BenchError("subscriber connect") }
        connection = nc
        counter.initialize(to: 0)
        let status = natsConnection_Subscribe(
            &subscription, nc, "protoqueue.*.events.>",
            { _, _, message, closure in
                usleep(1000)
                closure!.assumingMemoryBound(to: Int.self).pointee += 1
                natsMsg_Destroy(message)
            }, counter)
        guard status == NATS_OK else { throw BenchError("subscribe: \(status.rawValue)") }
    }

    /// Messages handled so far (read from another thread: approximate).
    var received: Int { counter.pointee }

    func close() {
        natsSubscription_Unsubscribe(subscription)
        natsSubscription_Destroy(subscription)
        natsConnection_Destroy(connection)
        counter.deallocate()
    }
}
