import Foundation
import PackagePlugin

/// Runs `protoc-gen-protoqueue` over the schemas of a Swift target's C dependency and adds the generated
/// wrappers (`<path_with_underscores>.protoqueue.swift`, one per schema) to the Swift target.
///
/// The C dependency is `cModule` from a `protoqueue.json` in the Swift target's directory, else the one direct
/// dependency that is a C target of this package. Its schemas are found by the same rule as
/// `ProtoqueueCGenerator` uses (see `SchemaSet`).
@main
struct ProtoqueueSwiftGenerator: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        guard let target = target as? SwiftSourceModuleTarget else {
            throw ProtoqueuePluginError(
                "ProtoqueueSwiftGenerator applies to Swift targets only ('\(target.name)' is not one); "
                    + "use ProtoqueueCGenerator on the C target")
        }
        let cTarget = try cDependency(of: target, in: context.package)
        let schemas = try SchemaSet.discover(
            targetDirectory: cTarget.directoryURL, packageDirectory: context.package.directoryURL,
            targetName: cTarget.name)
        let protoc = try findExecutable("protoc", override: "PROTOC_PATH", package: "protobuf-compiler")
        let generator = try context.tool(named: "protoc-gen-protoqueue").url
        let out = context.pluginWorkDirectoryURL
        let outputs = schemas.files.map {
            out.appending(path: SchemaSet.stem($0).replacingOccurrences(of: "/", with: "_") + ".protoqueue.swift")
        }
        return [
            .buildCommand(
                displayName: "protoc-gen-protoqueue \(target.name) (\(schemas.files.count) schemas)",
                executable: protoc,
                arguments: [
                    "--plugin=protoc-gen-protoqueue=\(generator.path)",
                    "--protoqueue_out=\(out.path)",
                    "--protoqueue_opt=c_module=\(cTarget.name)",
                ] + schemas.protocArguments,
                inputFiles: schemas.inputFiles + [generator],
                outputFiles: outputs
            )
        ]
    }

    func cDependency(of target: SwiftSourceModuleTarget, in package: Package) throws -> ClangSourceModuleTarget {
        if let (config, url) = try SchemaSet.configuration(in: target.directoryURL), let name = config.cModule {
            guard let found = package.targets.first(where: { $0.name == name }) as? ClangSourceModuleTarget else {
                if let skipped = skippedCTargets(in: package).first(where: { $0.name == name }) {
                    throw ProtoqueuePluginError("\(target.name): \(skipped.problem)")
                }
                throw ProtoqueuePluginError("\(url.path): cModule '\(name)' is not a C target of this package")
            }
            return found
        }
        let candidates = target.dependencies.compactMap { dependency -> ClangSourceModuleTarget? in
            if case .target(let dependencyTarget) = dependency { return dependencyTarget as? ClangSourceModuleTarget }
            return nil
        }
        if candidates.isEmpty, let skipped = skippedCTargets(in: package).first {
            throw ProtoqueuePluginError("\(target.name): \(skipped.problem)")
        }
        guard candidates.count == 1, let only = candidates.first else {
            throw ProtoqueuePluginError(
                "\(target.name): cannot tell which C target holds the protoc-c output ("
                    + (candidates.isEmpty
                        ? "no direct C target dependency"
                        : "candidates: \(candidates.map(\.name).joined(separator: ", "))")
                    + "); add it as a dependency or name it as cModule in "
                    + "\(target.directoryURL.appending(path: SchemaSet.configurationName).path)"
                    + (candidates.isEmpty ? ". " + PackageSetup.skippedCTargetHint : "")
            )
        }
        return only
    }

    /// Directories under `Sources/` that hold schemas but are no target the plugin API shows: C targets SwiftPM
    /// skipped because they have no header of their own in `include/`.
    func skippedCTargets(in package: Package) -> [(name: String, problem: String)] {
        let sources = package.directoryURL.appending(path: "Sources")
        let known = Set(package.targets.map { $0.directoryURL.standardizedFileURL.path })
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sources.path)) ?? []
        return names.sorted().compactMap { name in
            let directory = sources.appending(path: name)
            let include = directory.appending(path: "include")
            let headers = (try? FileManager.default.contentsOfDirectory(atPath: include.path)) ?? []
            guard !known.contains(directory.standardizedFileURL.path), !headers.contains(where: { $0.hasSuffix(".h") }),
                !SchemaSet.protos(under: directory).isEmpty
                    || FileManager.default.fileExists(
                        atPath: directory.appending(path: SchemaSet.configurationName).path)
            else { return nil }
            var isDirectory: ObjCBool = false
            let hasInclude = FileManager.default.fileExists(atPath: include.path, isDirectory: &isDirectory)
            return (
                name,
                PackageSetup.skippedCTarget(
                    name: name, directory: directory.path, hasIncludeDirectory: hasInclude && isDirectory.boolValue)
            )
        }
    }
}
