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
                throw ProtoqueuePluginError("\(url.path): cModule '\(name)' is not a C target of this package")
            }
            return found
        }
        let candidates = target.dependencies.compactMap { dependency -> ClangSourceModuleTarget? in
            if case .target(let dependencyTarget) = dependency { return dependencyTarget as? ClangSourceModuleTarget }
            return nil
        }
        guard candidates.count == 1, let only = candidates.first else {
            throw ProtoqueuePluginError(
                "\(target.name): cannot tell which C target holds the protoc-c output ("
                    + (candidates.isEmpty
                        ? "no direct C target dependency"
                        : "candidates: \(candidates.map(\.name).joined(separator: ", "))")
                    + "); add it as a dependency or name it as cModule in "
                    + "\(target.directoryURL.appending(path: SchemaSet.configurationName).path)"
            )
        }
        return only
    }
}
