// swift-tools-version: 6.3;(experimentalCGen)
// The experimentalCGen flag is what lets a SwiftPM 6.3 build-tool plugin emit C sources and headers into a C
// target (see docs/code-generation.md). A package that applies our plugins needs the same first line.

import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

// MARK: - System libraries (Debian packages)

let systemLibraries: [Target] = [
    .systemLibrary(
        name: "CNats",
        pkgConfig: "libnats",
        providers: [.apt(["libnats-dev"])]
    ),
    .systemLibrary(
        name: "CProtobufC",
        pkgConfig: "libprotobuf-c",
        providers: [.apt(["libprotobuf-c-dev"])]
    ),
]

// MARK: - Schemas: runtime for generated code

let codecTargets: [Target] = [
    .target(
        name: "ProtoqueueCodec",
        dependencies: ["CProtobufC"],
        swiftSettings: swiftSettings
    )
]

// MARK: - Queue: connection, provisioning, enqueue (branch `queue`)

let queueTargets: [Target] = [
    .target(
        name: "Protoqueue",
        dependencies: [
            "CNats",
            "ProtoqueueCodec",
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings
    ),
    .testTarget(
        name: "ProtoqueueTests",
        dependencies: [
            "Protoqueue",
            "CNats",
            .product(name: "Logging", package: "swift-log"),
        ],
        exclude: ["Fixtures"],
        swiftSettings: swiftSettings
    ),
    .executableTarget(
        name: "protoqueue-bench",
        dependencies: [
            "Protoqueue",
            "CNats",
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings
    ),
]

let queueProducts: [Product] = [
    .library(name: "Protoqueue", targets: ["Protoqueue"])
]

let package = Package(
    name: "Protoqueue",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ProtoqueueCodec", targets: ["ProtoqueueCodec"])
    ] + queueProducts,
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2")
    ],
    targets: systemLibraries + codecTargets + queueTargets
)
