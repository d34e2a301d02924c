// Shared by both build-tool plugins and by ProtoqueueCodecTests (symlinked into each): what a package applying the
// plugins must set up, as pure functions over file contents. No PackagePlugin or Foundation types, so the tests can
// compile this file.

/// The first line of a package manifest, `// swift-tools-version: 6.3;(experimentalCGen)`.
struct ManifestToolsVersion: Equatable {
    /// `[major, minor, patch]`.
    var version: [Int]
    /// Whether the line turns on `experimentalCGen`, which lets a build-tool plugin add C sources and headers to a
    /// C target (SwiftPM 6.3; without it SwiftPM warns `C source file generation not enabled` and drops them).
    var enablesCGeneration: Bool
    /// The line as written.
    var line: String

    /// The C generation settings of SwiftPM 6.3.
    static let required = "// swift-tools-version: 6.3;(experimentalCGen)"

    /// Reads the first non-blank line of a manifest; nil when it is not a `swift-tools-version` line.
    init?(manifest text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard var line = lines.first(where: { $0.contains { !$0.isWhitespace } }).map(String.init) else { return nil }
        while line.last?.isWhitespace == true { line.removeLast() }
        guard line.hasPrefix("//"), let marker = line.firstRange(of: "swift-tools-version") else { return nil }
        var rest = line[marker.upperBound...].drop { $0 == ":" || $0 == " " }
        let number = rest.prefix { $0.isNumber || $0 == "." }
        rest = rest.dropFirst(number.count)
        var version = number.split(separator: ".").compactMap { Int($0) }
        guard !version.isEmpty else { return nil }
        while version.count < 3 { version.append(0) }
        self.version = version
        self.enablesCGeneration = rest.drop { $0 == " " }.hasPrefix(";") && rest.contains("experimentalCGen")
        self.line = line
    }
}

/// Problems SwiftPM reports late or not readably, turned into one message naming the fix.
enum PackageSetup {
    /// Why ProtoqueueCGenerator's output would be dropped, or nil when it would not (or when it cannot be told).
    ///
    /// - Parameters:
    ///   - toolsVersion: The tools version of the manifest SwiftPM read (`context.package.toolsVersion`); the
    ///     plugin API does not say whether experimental features are on, so the manifest files are read.
    ///   - manifests: `Package.swift` and any `Package@swift-*.swift` of the package, with their text. Of those,
    ///     the ones declaring `toolsVersion` are the candidates for the one SwiftPM read; if none of them enables
    ///     `experimentalCGen` (or the version is below 6.3) that is the problem. No candidate: nil.
    ///   - target: The C target the plugin was applied to.
    static func cGenerationProblem(
        toolsVersion: [Int], manifests: [(path: String, text: String)], target: String
    ) -> String? {
        let candidates = manifests.compactMap { manifest in
            ManifestToolsVersion(manifest: manifest.text).map { (path: manifest.path, tools: $0) }
        }.filter { $0.tools.version == toolsVersion }
        guard let first = candidates.first else { return nil }
        let isNewEnough = !toolsVersion.lexicographicallyPrecedes([6, 3, 0])
        if isNewEnough && candidates.contains(where: { $0.tools.enablesCGeneration }) { return nil }
        return "\(first.path): ProtoqueueCGenerator adds generated C to target '\(target)', which SwiftPM allows only "
            + "with an experimental manifest flag: make the first line of the manifest "
            + "'\(ManifestToolsVersion.required)' (it is '\(first.tools.line)'). Without it SwiftPM drops the "
            + "generated C ('C source file generation not enabled') and the Swift wrappers fail with "
            + "'cannot find ... in scope'."
    }

    /// The message for a C target SwiftPM skipped because it has no header or C source of its own yet (plugins
    /// never see such a target, so the Swift plugin finds no C dependency).
    /// - Parameters:
    ///   - name: The target's directory name (its name by default).
    ///   - directory: The target's directory.
    ///   - hasIncludeDirectory: Whether `include/` exists (then it holds no header).
    static func skippedCTarget(name: String, directory: String, hasIncludeDirectory: Bool) -> String {
        let include = directory + (directory.hasSuffix("/") ? "" : "/") + "include"
        return "C target \(name) has "
            + (hasIncludeDirectory ? "no header in its include/ directory" : "no include/ directory")
            + ", so SwiftPM skips it (a C target needs a source or header of its own; the generated ones come "
            + "later) and the plugins cannot see it: create \(include)/\(name).h holding a comment as a placeholder"
    }

    /// The hint added when no skipped C target is found (it may live outside `Sources/`).
    static let skippedCTargetHint =
        "A C target holding only .proto files, without a header in include/, is skipped by SwiftPM and invisible "
        + "to plugins: give it include/<TargetName>.h holding a comment."
}
