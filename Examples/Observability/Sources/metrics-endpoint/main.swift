import CoreMetrics
import Foundation
import Hummingbird
import Logging
import Prometheus
import Protoqueue
import ServiceLifecycle
import ShopWorkload

// metrics-endpoint: a worker process whose metrics a Prometheus server scrapes.
// - swift-prometheus is bootstrapped as the MetricsSystem's factory, once, by the application (the library never
//   bootstraps anything);
// - both queues get one QueueMetrics middleware, and each a QueueGaugePoller;
// - the sample tasks of ShopQueues are enqueued and a QueueWorker processes them;
// - Hummingbird serves GET /metrics on 127.0.0.1 until SIGTERM or SIGINT, then everything stops gracefully.
// Usage: metrics-endpoint [--port N]   (else METRICS_PORT, else 9464; 0 picks a free port)
// Reads NATS_URL (default nats://127.0.0.1:4222). scripts/build-observability-example.sh runs and scrapes it.

var logger = Logger(label: "metrics-endpoint", factory: { StreamLogHandler.standardError(label: $0) })
logger.logLevel = .warning
let environment = ProcessInfo.processInfo.environment
let url = environment["NATS_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "nats://127.0.0.1:4222"
let arguments = CommandLine.arguments
let portArgument = arguments.firstIndex(of: "--port").map { arguments.index(after: $0) }
    .flatMap { arguments.indices.contains($0) ? arguments[$0] : nil }
let portText = portArgument ?? environment["METRICS_PORT"] ?? "9464"
guard let port = Int(portText), (0...65535).contains(port) else {
    print("usage: metrics-endpoint [--port N]  (or METRICS_PORT=N; 0 picks a free port); got '\(portText)'")
    exit(2)
}

let registry = PrometheusCollectorRegistry()
MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

let router = Router()
router.get("metrics") { _, _ in
    Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
}
let server = Application(
    router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
    onServerRunning: { channel in
        print("serving http://127.0.0.1:\(channel.localAddress?.port ?? port)/metrics (SIGTERM or Ctrl-C stops)")
        fflush(nil)
    },
    logger: logger)

do {
    let connection = try await NATSConnection.connect(.init(servers: [url], name: "metrics-endpoint"), logger: logger)
    // Made after the bootstrap: QueueMetrics and the pollers take MetricsSystem.factory when they are created.
    let queues = try await ShopQueues(connection: connection, middleware: [QueueMetrics()], logger: logger)
    let run = String(UUID().uuidString.prefix(8)).lowercased()
    let enqueued = try await queues.enqueueSamples(run: run)
    print("enqueued \(enqueued) tasks on \(url) (run \(run))")
    fflush(nil)

    // Gauges every second so that a scrape soon shows the queues drained; the default interval is 15 s.
    let pollers = [
        QueueGaugePoller(queue: queues.images, interval: .seconds(1), logger: logger),
        QueueGaugePoller(queue: queues.receipts, interval: .seconds(1), logger: logger),
    ]
    // Graceful shutdown runs in reverse order: the server stops first, the connection closes last.
    let services: [any Service] = [connection, queues.worker(logger: logger)] + pollers + [server]
    let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
    print("stopped")
} catch {
    print("error: \(error)")
    exit(1)
}
