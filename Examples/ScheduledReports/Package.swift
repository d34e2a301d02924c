// swift-tools-version: 6.3;(experimentalCGen)
// A user's package: its own .proto files, compiled by Protoqueue's two build-tool plugins. The experimentalCGen
// flag above is required in every package that applies ProtoqueueCGenerator (it is per manifest).

import PackageDescription

// A path dependency's package identity is its directory name, which depends on how the repository was cloned
// (for example "protoqueue" or "wt-codegen"): derive it from this manifest's location (<repo>/Examples/<name>/).
let protoqueueIdentity: String = {
    let components = #filePath.split(separator: "/").map(String.init)
    return components[components.count - 4]
}()

let package = Package(
    name: "ScheduledReports",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../..")
    ],
    targets: [
        // The C target receives protoc-c output. Its schemas are named by protoqueue.json in its directory.
        .target(
            name: "CReportSchemas",
            plugins: [.plugin(name: "ProtoqueueCGenerator", package: protoqueueIdentity)]
        ),
        // The Swift target receives the typed wrappers; it finds the schemas through its C dependency.
        .target(
            name: "ReportSchemas",
            dependencies: [
                "CReportSchemas",
                .product(name: "ProtoqueueCodec", package: protoqueueIdentity),
            ],
            plugins: [.plugin(name: "ProtoqueueSwiftGenerator", package: protoqueueIdentity)]
        ),
        .executableTarget(
            name: "scheduled-reports",
            dependencies: ["ReportSchemas"]
        ),
    ]
)
