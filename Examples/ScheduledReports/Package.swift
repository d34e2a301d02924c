// swift-tools-version: 6.3;(experimentalCGen)
// A user's package: its own .proto files compiled by Protoqueue's two build-tool plugins, a library with the task
// handlers, an executable that runs them on a nats-server, and unit tests that run them on ProtoqueueTesting's
// in-memory server. The experimentalCGen flag above is required in every package that applies
// ProtoqueueCGenerator (it is per manifest).

import PackageDescription

// A path dependency's package identity is its directory name, which depends on how the repository was cloned
// (for example "protoqueue" or "main"): derive it from this manifest's location (<repo>/Examples/<name>/).
let protoqueueIdentity: String = {
    let components = #filePath.split(separator: "/").map(String.init)
    return components[components.count - 4]
}()

let package = Package(
    name: "ScheduledReports",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The C target receives protoc-c output. Its schemas are named by protoqueue.json in its directory.
        .target(
            name: "CReportSchemas",
            plugins: [.plugin(name: "ProtoqueueCGenerator", package: protoqueueIdentity)]
        ),
        // The Swift target receives the typed messages; it finds the schemas through its C dependency.
        .target(
            name: "ReportSchemas",
            dependencies: [
                "CReportSchemas",
                .product(name: "ProtoqueueCodec", package: protoqueueIdentity),
            ],
            plugins: [.plugin(name: "ProtoqueueSwiftGenerator", package: protoqueueIdentity)]
        ),
        // The queues and their handlers, with the renderer and the mailer as dependencies a test can replace.
        .target(
            name: "ReportWorkers",
            dependencies: [
                "ReportSchemas",
                .product(name: "Protoqueue", package: protoqueueIdentity),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Enqueues reports on the nats-server at NATS_URL and serves both queues with one worker until idle.
        .executableTarget(
            name: "scheduled-reports",
            dependencies: ["ReportWorkers"]
        ),
        // The handlers, tested on the in-memory server: no nats-server needed.
        .testTarget(
            name: "ReportWorkersTests",
            dependencies: [
                "ReportWorkers",
                .product(name: "Protoqueue", package: protoqueueIdentity),
                .product(name: "ProtoqueueTesting", package: protoqueueIdentity),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
