// Shared by both build-tool plugins (symlinked into each plugin directory).
import Foundation
import PackagePlugin

/// A failure the plugins report to the user, naming the file or tool at fault.
struct ProtoqueuePluginError: Error, CustomStringConvertible, LocalizedError {
    var description: String
    var errorDescription: String? { description }
    init(_ description: String) { self.description = description }
}

/// The `protoqueue.json` a target directory may hold. Every key is optional.
struct ProtoqueueConfiguration: Decodable {
    /// The directory protoc resolves schema paths and imports against, relative to the target directory.
    var protoRoot: String?
    /// The schemas to compile, relative to `protoRoot` (default: every `.proto` under `protoRoot`).
    var protoFiles: [String]?
    /// Extra import directories, relative to the target directory (or absolute).
    var importPaths: [String]?
    /// For a Swift target: the C target holding the protoc-c output.
    var cModule: String?
}

/// The schemas of one C target and how to hand them to protoc.
///
/// Discovery rule, for a C target `T`:
/// 1. `protoqueue.json` in `T`'s directory, if present;
/// 2. otherwise every `.proto` file under `T`'s directory (protoc root: `T`'s directory);
/// 3. otherwise every `.proto` file under the package's top-level `Protos/` (protoc root: `Protos/`).
struct SchemaSet {
    var root: URL
    /// Paths relative to `root`, sorted.
    var files: [String]
    var importPaths: [URL]
    var configuration: URL?

    var absoluteFiles: [URL] { files.map { root.appending(path: $0) } }

    static let configurationName = "protoqueue.json"

    static func configuration(in directory: URL) throws -> (ProtoqueueConfiguration, URL)? {
        let url = directory.appending(path: configurationName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return (try JSONDecoder().decode(ProtoqueueConfiguration.self, from: Data(contentsOf: url)), url)
        } catch {
            throw ProtoqueuePluginError("\(url.path): not a valid protoqueue configuration: \(error)")
        }
    }

    static func protos(under directory: URL) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        var result: [String] = []
        while let path = enumerator.nextObject() as? String {
            if path.hasSuffix(".proto") && !path.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
                result.append(path)
            }
        }
        return result.sorted()
    }

    /// Finds the schemas of the C target in `directory` of the package at `packageDirectory`.
    static func discover(targetDirectory directory: URL, packageDirectory: URL, targetName: String) throws -> SchemaSet
    {
        if let (config, url) = try configuration(in: directory) {
            let root = config.protoRoot.map { directory.appending(path: $0).standardizedFileURL } ?? directory
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw ProtoqueuePluginError(
                    "\(url.path): protoRoot '\(config.protoRoot ?? "")' is not a directory (\(root.path))")
            }
            let files = config.protoFiles ?? protos(under: root)
            for file in files where !FileManager.default.fileExists(atPath: root.appending(path: file).path) {
                throw ProtoqueuePluginError(
                    "\(url.path): protoFiles names '\(file)', which does not exist at "
                        + "\(root.appending(path: file).path)"
                )
            }
            var imports: [URL] = []
            for path in config.importPaths ?? [] {
                let importURL =
                    path.hasPrefix("/") ? URL(filePath: path) : directory.appending(path: path).standardizedFileURL
                guard FileManager.default.fileExists(atPath: importURL.path) else {
                    throw ProtoqueuePluginError(
                        "\(url.path): importPaths names '\(path)', which does not exist at \(importURL.path)")
                }
                imports.append(importURL)
            }
            guard !files.isEmpty else {
                throw ProtoqueuePluginError("\(url.path): no .proto files under \(root.path)")
            }
            return SchemaSet(root: root, files: files.sorted(), importPaths: imports, configuration: url)
        }
        let own = protos(under: directory)
        if !own.isEmpty {
            return SchemaSet(root: directory, files: own, importPaths: [], configuration: nil)
        }
        let shared = packageDirectory.appending(path: "Protos")
        let sharedFiles = protos(under: shared)
        guard !sharedFiles.isEmpty else {
            throw ProtoqueuePluginError(
                "\(targetName): no schemas found. Put .proto files in \(directory.path), list them in "
                    + "\(directory.appending(path: configurationName).path), or add them to \(shared.path)")
        }
        return SchemaSet(root: shared, files: sharedFiles, importPaths: [], configuration: nil)
    }

    /// The protoc arguments naming the import paths and the schemas.
    var protocArguments: [String] {
        ["--proto_path=\(root.path)"] + importPaths.map { "--proto_path=\($0.path)" } + files
    }

    /// Every input a build command depends on.
    var inputFiles: [URL] { absoluteFiles + (configuration.map { [$0] } ?? []) }

    /// `dir/name.proto` → `dir/name`.
    static func stem(_ file: String) -> String {
        file.hasSuffix(".proto") ? String(file.dropLast(6)) : file
    }
}

/// Finds an executable: an environment override, then `PATH`, naming the Debian package when it is missing.
func findExecutable(_ name: String, override: String, package: String) throws -> URL {
    let environment = ProcessInfo.processInfo.environment
    if let path = environment[override], !path.isEmpty {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ProtoqueuePluginError("\(override)=\(path) is not an executable file")
        }
        return URL(filePath: path)
    }
    for directory in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = URL(filePath: String(directory)).appending(path: name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    throw ProtoqueuePluginError(
        "\(name) not found on PATH (set \(override) or install the Debian package \(package): apt-get install "
            + "\(package))"
    )
}
