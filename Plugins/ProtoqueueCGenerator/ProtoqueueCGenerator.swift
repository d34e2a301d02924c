import Foundation
import PackagePlugin

/// Runs protoc-c (through `protoc-gen-protoqueue mode=c`, which adds proto3 `optional` support) over a C
/// target's schemas. Output: `<work>/include/**/*.pb-c.h`, `<work>/**/*.pb-c.c` and
/// `<work>/include/module.modulemap` listing every generated header, so no umbrella header is maintained by hand.
/// Needs `// swift-tools-version: 6.3;(experimentalCGen)` in the manifest of the package applying it.
@main
struct ProtoqueueCGenerator: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        guard let target = target as? ClangSourceModuleTarget else {
            throw ProtoqueuePluginError(
                "ProtoqueueCGenerator applies to C targets only ('\(target.name)' is not one); "
                    + "use ProtoqueueSwiftGenerator on the Swift target")
        }
        try checkCGenerationEnabled(context.package, target: target.name)
        let schemas = try SchemaSet.discover(
            targetDirectory: target.directoryURL, packageDirectory: context.package.directoryURL,
            targetName: target.name)
        let protoc = try findExecutable("protoc", override: "PROTOC_PATH", package: "protobuf-compiler")
        let protocGenC = try findExecutable(
            "protoc-gen-c", override: "PROTOC_GEN_C_PATH", package: "protobuf-c-compiler")
        let generator = try context.tool(named: "protoc-gen-protoqueue").url
        let out = context.pluginWorkDirectoryURL
        let include = out.appending(path: "include")

        let headers = schemas.files.map { SchemaSet.stem($0) + ".pb-c.h" }
        var moduleMap = "module \(target.name) {\n"
        for header in headers { moduleMap += "    header \"\(header)\"\n" }
        moduleMap += "    link \"protobuf-c\"\n    export *\n}\n"

        // protoc-c writes X.pb-c.c next to X.pb-c.h; headers must live under include/, so move the .c files out.
        let script = """
            set -e
            out="$0"; map="$1"; shift
            rm -rf "$out/include"; mkdir -p "$out/include"
            "$@"
            cd "$out/include"
            find . -name '*.pb-c.c' | while read -r file; do
                mkdir -p "$out/$(dirname "$file")"
                mv -f "$file" "$out/$file"
            done
            printf '%s' "$map" > "$out/include/module.modulemap"
            """
        let arguments =
            [
                "-c", script, out.path, moduleMap, protoc.path,
                "--plugin=protoc-gen-protoqueue-c=\(generator.path)",
                "--protoqueue-c_out=\(include.path)",
                "--protoqueue-c_opt=mode=c,protoc_gen_c=\(protocGenC.path)",
            ]
            + schemas.protocArguments
        let outputs =
            schemas.files.map { out.appending(path: SchemaSet.stem($0) + ".pb-c.c") }
            + headers.map { include.appending(path: $0) }
            + [include.appending(path: "module.modulemap")]
        return [
            .buildCommand(
                displayName: "protoc-c \(target.name) (\(schemas.files.count) schemas)",
                executable: URL(filePath: "/bin/sh"),
                arguments: arguments,
                inputFiles: schemas.inputFiles + [generator, protoc, protocGenC],
                outputFiles: outputs
            )
        ]
    }

    /// Fails before anything is generated when the manifest does not turn on `experimentalCGen`: SwiftPM would drop
    /// the C with a warning and the build would fail later, far from the cause. The plugin API gives the tools
    /// version but not the experimental features, so the manifest files are read (see `PackageSetup`).
    func checkCGenerationEnabled(_ package: Package, target: String) throws {
        let directory = package.directoryURL
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let manifests = names.filter {
            $0 == "Package.swift" || ($0.hasPrefix("Package@swift-") && $0.hasSuffix(".swift"))
        }
        .sorted().compactMap { name -> (path: String, text: String)? in
            let url = directory.appending(path: name)
            return (try? String(contentsOf: url, encoding: .utf8)).map { (url.path, $0) }
        }
        let version = package.toolsVersion
        if let problem = PackageSetup.cGenerationProblem(
            toolsVersion: [version.major, version.minor, version.patch], manifests: manifests, target: target)
        {
            throw ProtoqueuePluginError(problem)
        }
    }
}
