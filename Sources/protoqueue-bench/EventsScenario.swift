import Protoqueue

#if canImport(Glibc)
import Glibc
#endif

/// `process-events`: what lifecycle events cost a worker when their reader is slow. The `process` run (no-op
/// handler, concurrency 128, 100,000 queued tasks) once with events on (a `started` and a `succeeded` event per
/// task) while a subscriber to every queue's events never reads them (ours), and once with events off
/// (baseline), alternating, twice; the best of each. Prints the events published and dropped by each events run.
/// `PROTOQUEUE_BENCH_EVENT_READER=none` leaves the subscriber out (to tell the publisher's cost from the reader's);
/// `PROTOQUEUE_BENCH_EVENTS=off` runs both sides with events off (an A/A run: the spread of `ratio` when nothing
/// differs, the noise the events' cost is judged against).
let processEventsScenario = Scenario(
    name: "process-events",
    summary: "tasks/s, process with lifecycle events on and a subscriber that never reads vs events off, 100,000 tasks"
) {
    let reader = ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_EVENT_READER") != "none"
    let subscriber = reader ? try SlowEventSubscriber(url: try BenchNATS.url()) : nil
    defer { subscriber?.close() }
    let events: EventConfiguration =
        ProcessInfoEnvironment.value("PROTOQUEUE_BENCH_EVENTS") == "off" ? .disabled : .enabled()
    let rates = try ProcessBench.withAndWithout(events: events, label: "events") { round, events in
        print(
            "events run \(round): published \(events.published), dropped \(events.dropped)"
                + "\(subscriber == nil ? ", no subscriber" : "")")
    }
    return BenchResult(name: "process-events", ours: rates.ours, baseline: rates.baseline, unit: "msgs/s")
}

/// A core NATS subscriber to `protoqueue.*.events.>` that never reads: a raw socket that sends `CONNECT` and `SUB`
/// and then leaves every byte the server writes unread, as a stuck reader on another machine would. The server
/// buffers for it, then cuts it off as a slow consumer; nothing of that reaches the publisher.
final class SlowEventSubscriber: @unchecked Sendable {
    private let socket: Int32

    init(url: String) throws {
        let hostPort = (url.hasPrefix("nats://") ? url.dropFirst(7) : Substring(url)).split(separator: ":")
        guard hostPort.count == 2, let port = UInt16(hostPort[1]) else { throw BenchError("cannot parse \(url)") }
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, String(hostPort[0]), &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw BenchError("slow subscriber: connect failed (errno \(errno))") }
        let hello = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB protoqueue.*.events.> 1\r\nPING\r\n"
        guard hello.withCString({ write(socket, $0, strlen($0)) }) > 0 else { throw BenchError("slow subscriber") }
        // Give the server a moment to register the subscription before the first event.
        usleep(100_000)
    }

    func close() { Glibc.close(socket) }
}
