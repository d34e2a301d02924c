// swift-tools-version: 6.3;(experimentalCGen)
// The experimentalCGen flag is what lets a SwiftPM 6.3 build-tool plugin emit C sources and headers into a C
// target (see docs/code-generation.md). A package that applies our plugins needs the same first line.

import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// MARK: - System libraries (Debian packages)

let systemLibraries: [Target] = [
    .systemLibrary(
        name: "CNats",
        pkgConfig: "libnats",
        providers: [.apt(["libnats-dev"])]
    ),
    // natsMsg_create, looked up at run time (libnats 3.4.1 exports it without declaring it in nats.h).
    .target(
        name: "CNatsShim",
        dependencies: ["CNats"]
    ),
    .systemLibrary(
        name: "CProtobufC",
        pkgConfig: "libprotobuf-c",
        providers: [.apt(["libprotobuf-c-dev"])]
    ),
]

// MARK: - Schemas: runtime, generator, plugins, example schemas

let codecTargets: [Target] = [
    .target(
        name: "ProtoqueueCodec",
        dependencies: ["CProtobufC"],
        swiftSettings: swiftSettings
    ),
    // Committed protoc-c output of descriptor.proto and compiler/plugin.proto (scripts/regenerate-descriptors.sh).
    .target(
        name: "CProtoDescriptors",
        dependencies: ["CProtobufC"]
    ),
    // Schemas as data: descriptor sets, fingerprints, the compatibility rules (docs/schemas.md).
    .target(
        name: "ProtoqueueSchema",
        dependencies: ["ProtoqueueCodec"],
        swiftSettings: swiftSettings
    ),
    .executableTarget(
        name: "protoc-gen-protoqueue",
        dependencies: ["CProtoDescriptors", "CProtobufC", "ProtoqueueCodec", "ProtoqueueSchema"],
        swiftSettings: swiftSettings
    ),
    .plugin(
        name: "ProtoqueueCGenerator",
        capability: .buildTool(),
        dependencies: ["protoc-gen-protoqueue"]
    ),
    .plugin(
        name: "ProtoqueueSwiftGenerator",
        capability: .buildTool(),
        dependencies: ["protoc-gen-protoqueue"]
    ),
    .target(
        name: "CTaskSchemas",
        dependencies: ["CProtobufC"],
        exclude: ["protoqueue.json"],
        plugins: ["ProtoqueueCGenerator"]
    ),
    .target(
        name: "TaskSchemas",
        dependencies: ["CTaskSchemas", "ProtoqueueCodec"],
        swiftSettings: swiftSettings,
        plugins: ["ProtoqueueSwiftGenerator"]
    ),
    .executableTarget(
        name: "protoqueue-bench",
        dependencies: [
            "TaskSchemas", "CTaskSchemas", "ProtoqueueCodec", "CProtobufC",
            // queue scenarios (EnqueueBenchmark.swift)
            "Protoqueue", "CNats", .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
            // its private nats-server (BenchNATS.swift)
            "NATSServerHarness",
        ],
        swiftSettings: swiftSettings
    ),
    .target(
        name: "CKitchenSink",
        dependencies: ["CProtobufC"],
        path: "Tests/KitchenSink/CKitchenSink",
        plugins: ["ProtoqueueCGenerator"]
    ),
    .target(
        name: "KitchenSink",
        dependencies: ["CKitchenSink", "ProtoqueueCodec"],
        path: "Tests/KitchenSink/KitchenSink",
        exclude: ["protoqueue.json"],
        swiftSettings: swiftSettings,
        plugins: ["ProtoqueueSwiftGenerator"]
    ),
    // protoc as a producer's build runs it, for the schema tests. Not a product.
    .target(
        name: "SchemaTestSupport",
        path: "Tests/SchemaTestSupport",
        swiftSettings: swiftSettings
    ),
    .testTarget(
        name: "ProtoqueueSchemaTests",
        // `protoqueue` so that `swift test` alone (the AddressSanitizer run) builds the command its tests run.
        dependencies: [
            "ProtoqueueSchema", "ProtoqueueCodec", "SchemaTestSupport", "TaskSchemas", "KitchenSink", "protoqueue",
        ],
        swiftSettings: swiftSettings
    ),
    .testTarget(
        name: "ProtoqueueCodecTests",
        dependencies: [
            "KitchenSink", "CKitchenSink", "TaskSchemas", "ProtoqueueCodec", "ProtoqueueSchema", "CProtobufC",
            "CProtoDescriptors", "protoc-gen-protoqueue",
        ],
        swiftSettings: swiftSettings
    ),
]

let codecProducts: [Product] = [
    .library(name: "ProtoqueueCodec", targets: ["ProtoqueueCodec"]),
    .library(name: "ProtoqueueSchema", targets: ["ProtoqueueSchema"]),
    .plugin(name: "ProtoqueueCGenerator", targets: ["ProtoqueueCGenerator"]),
    .plugin(name: "ProtoqueueSwiftGenerator", targets: ["ProtoqueueSwiftGenerator"]),
]

// MARK: - Queue: connection, provisioning, enqueue

let queueTargets: [Target] = [
    // protoc-c output of the lifecycle event schema, Protos/protoqueue/events/v1/task_event.proto.
    .target(
        name: "CProtoqueueEvents",
        dependencies: ["CProtobufC"],
        exclude: ["protoqueue.json"],
        plugins: ["ProtoqueueCGenerator"]
    ),
    // The queue; its TaskEvent type is generated from the event schema by our own Swift plugin.
    .target(
        name: "Protoqueue",
        dependencies: [
            "CNats",
            "CNatsShim",
            "CProtoqueueEvents",
            "ProtoqueueCodec",
            "ProtoqueueSchema",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
        ],
        exclude: ["protoqueue.json"],
        swiftSettings: swiftSettings,
        plugins: ["ProtoqueueSwiftGenerator"]
    ),
    // An in-memory transport for tests without a server (docs/testing.md).
    .target(
        name: "ProtoqueueTesting",
        dependencies: [
            "Protoqueue",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ],
        swiftSettings: swiftSettings
    ),
    .testTarget(
        name: "ProtoqueueTests",
        dependencies: [
            "Protoqueue",
            "ProtoqueueTesting",
            "NATSServerHarness",
            "NATSTestSupport",
            "SchemaTestSupport",
            "TaskSchemas",
            "CNats",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
        ],
        exclude: ["Fixtures"],
        swiftSettings: swiftSettings
    ),
    // The operators' command (docs/cli.md); swift-argument-parser is linked into it alone.
    .executableTarget(
        name: "protoqueue",
        dependencies: [
            "Protoqueue",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings
    ),
    .executableTarget(
        name: "protoqueue-demo",
        dependencies: [
            "Protoqueue",
            "TaskSchemas",
            .product(name: "Logging", package: "swift-log"),
            // the worker runs as a Service in a ServiceGroup
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            // its QueueMetrics record into a small in-process factory for the closing summary
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ],
        swiftSettings: swiftSettings
    ),
]

let queueProducts: [Product] = [
    .library(name: "Protoqueue", targets: ["Protoqueue"]),
    .library(name: "ProtoqueueTesting", targets: ["ProtoqueueTesting"]),
    .executable(name: "protoqueue", targets: ["protoqueue"]),
]

// MARK: - Reliability: security, hostile input, server versions, chaos

let reliabilityTargets: [Target] = [
    // Starts and kills nats-server processes by pid on 127.0.0.1, makes certificates; shared by the reliability
    // tests and the chaos executable. Not a product.
    .target(
        name: "NATSServerHarness",
        swiftSettings: swiftSettings
    ),
    // The raw nats.c helper both test targets use (what another process or an operator does behind a queue's back).
    .target(
        name: "NATSTestSupport",
        dependencies: ["CNats", "NATSServerHarness"],
        path: "Tests/NATSTestSupport",
        swiftSettings: swiftSettings
    ),
    .testTarget(
        name: "ProtoqueueReliabilityTests",
        dependencies: [
            "Protoqueue",
            "NATSServerHarness",
            "NATSTestSupport",
            "TaskSchemas",
            "KitchenSink",
            "ProtoqueueCodec",
            "CNats",
            .product(name: "Logging", package: "swift-log"),
        ],
        exclude: ["python"],
        swiftSettings: swiftSettings
    ),
    // Fault injection with real nats-server and worker processes: `protoqueue-chaos run <scenario> --tasks N`
    // (scripts/chaos.sh). Not a product.
    .executableTarget(
        name: "protoqueue-chaos",
        dependencies: [
            "Protoqueue",
            "NATSServerHarness",
            "TaskSchemas",
            "CNats",
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings
    ),
]

let package = Package(
    name: "Protoqueue",
    platforms: [.macOS(.v15)],
    products: codecProducts + queueProducts,
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // The `protoqueue` command's options and subcommands; not a dependency of any library product.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation` (scripts/docs.sh); a command plugin, linked into no product.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: systemLibraries + codecTargets + queueTargets + reliabilityTargets
)
