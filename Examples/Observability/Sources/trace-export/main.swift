import Foundation
import Logging
import OTel
import Protoqueue
import ServiceLifecycle
import ShopWorkload
import Tracing

// trace-export: a checkout request traced through the queues to the handlers, exported with swift-otel.
// - swift-otel's tracing backend (W3C trace context) is bootstrapped as the InstrumentationSystem's tracer, once,
//   by the application (the library never bootstraps anything); its logs and metrics backends stay off;
// - both queues get QueueTracing, first in their middleware list;
// - a "POST /checkout" span enqueues the tasks of Checkout.swift (one succeeds and enqueues a follow-up, one fails,
//   one throws until its attempts run out);
// - a QueueWorker processes them in a ServiceGroup with the tracing backend and stops once both queues are idle;
//   the group then shuts down in reverse order, so the backend exports the last spans before the process exits.
// Reads NATS_URL (default nats://127.0.0.1:4222) and swift-otel's standard variables, among them
// OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318; /v1/traces is appended) or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as it is), OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf by default, or
// http/json) and OTEL_SERVICE_NAME (default trace-export). scripts/build-observability-example.sh runs it against an
// OTLP/HTTP receiver of its own (scripts/check-trace-export.py) and checks the spans.

var logger = Logger(label: "trace-export", factory: { StreamLogHandler.standardError(label: $0) })
logger.logLevel = .warning
let url = ProcessInfo.processInfo.environment["NATS_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "nats://127.0.0.1:4222"

var configuration = OTel.Configuration.default
configuration.serviceName = "trace-export"
configuration.propagators = [.traceContext]  // the default: `traceparent` and `tracestate` headers
configuration.logs.enabled = false
configuration.metrics.enabled = false
configuration.diagnosticLogLevel = .warning  // failed exports are still reported

do {
    // Bootstraps InstrumentationSystem; the returned service exports the spans while it runs.
    let observability = try OTel.bootstrap(configuration: configuration)
    let connection = try await NATSConnection.connect(.init(servers: [url], name: "trace-export"), logger: logger)
    // Made after the bootstrap: QueueTracing takes InstrumentationSystem.tracer when it is created.
    let queues = try await ShopQueues(connection: connection, middleware: [QueueTracing()], logger: logger)
    let checkout = Checkout(queues: queues, run: String(UUID().uuidString.prefix(8)).lowercased())
    let traceID = try await checkout.handle()
    print(
        "POST /checkout: trace \(traceID ?? "none"), \(Checkout.enqueuedByRequest) tasks enqueued on \(url)"
            + " (run \(checkout.run))")
    fflush(nil)

    // The worker returns once both queues are idle, which shuts the group down gracefully: in reverse order, so the
    // connection closes, then the tracing backend exports what it still holds.
    let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: observability),
        .init(service: connection),
        .init(service: checkout.worker(logger: logger), successTerminationBehavior: .gracefullyShutdownGroup),
    ]
    let group = ServiceGroup(
        configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
    print("queues idle; the tracing backend has stopped")
} catch {
    print("error: \(error)")
    exit(1)
}
