// swift-tools-version: 6.3;(experimentalCGen)
// Observability backends for Protoqueue's metrics and traces, as a service would wire them: a library with two
// queues and their handlers (ShopWorkload), and one executable per backend. The backends' packages
// (swift-prometheus, Hummingbird, swift-otel) are dependencies of this example only, never of the Protoqueue library.
// The experimentalCGen flag above is required in every package that applies ProtoqueueCGenerator (it is per
// manifest).

import PackageDescription

// A path dependency's package identity is its directory name, which depends on how the repository was cloned
// (for example "protoqueue" or "main"): derive it from this manifest's location (<repo>/Examples/<name>/).
let protoqueueIdentity: String = {
    let components = #filePath.split(separator: "/").map(String.init)
    return components[components.count - 4]
}()

let package = Package(
    name: "Observability",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // No default traits: they add swift-configuration support and full Foundation, which /metrics needs neither.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // Only the OTLP/HTTP exporter (protobuf or JSON bodies): the default traits add OTLP/gRPC, whose grpc-swift
        // packages would make the build several minutes longer.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // protoc-c output of Sources/CShopSchemas/shop/tasks.proto.
        .target(
            name: "CShopSchemas",
            plugins: [.plugin(name: "ProtoqueueCGenerator", package: protoqueueIdentity)]
        ),
        // The typed messages ResizeImage and SendReceipt.
        .target(
            name: "ShopSchemas",
            dependencies: [
                "CShopSchemas",
                .product(name: "ProtoqueueCodec", package: protoqueueIdentity),
            ],
            plugins: [.plugin(name: "ProtoqueueSwiftGenerator", package: protoqueueIdentity)]
        ),
        // The queues, sample tasks and handlers every executable here runs; no observability backend.
        .target(
            name: "ShopWorkload",
            dependencies: [
                "ShopSchemas",
                .product(name: "Protoqueue", package: protoqueueIdentity),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Prometheus: QueueMetrics and QueueGaugePoller into swift-prometheus, served at /metrics by Hummingbird.
        .executableTarget(
            name: "metrics-endpoint",
            dependencies: [
                "ShopWorkload",
                .product(name: "Protoqueue", package: protoqueueIdentity),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // OpenTelemetry: QueueTracing spans of a checkout request and the tasks it enqueues, exported by swift-otel
        // over OTLP/HTTP.
        .executableTarget(
            name: "trace-export",
            dependencies: [
                "ShopWorkload",
                "ShopSchemas",
                .product(name: "Protoqueue", package: protoqueueIdentity),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ]
        ),
    ]
)
