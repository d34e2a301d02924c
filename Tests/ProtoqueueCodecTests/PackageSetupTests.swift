import Testing

/// The plugins' setup checks (`Plugins/Shared/PackageSetup.swift`, compiled into this target through a symlink):
/// which manifests enable C generation, and the messages naming the fix. `scripts/check-plugin-setup.sh` runs the
/// same checks through `swift build` on a temporary package.
@Suite("Plugin setup checks")
struct PackageSetupTests {
    static let lines: [(text: String, version: [Int]?, enablesCGeneration: Bool)] = [
        ("// swift-tools-version: 6.3;(experimentalCGen)\nimport PackageDescription\n", [6, 3, 0], true),
        ("// swift-tools-version:6.3.1;(experimentalCGen)", [6, 3, 1], true),
        ("\n  \n// swift-tools-version: 6.3 ;(experimentalCGen)\r\n", [6, 3, 0], true),
        ("// swift-tools-version: 6.3", [6, 3, 0], false),
        ("// swift-tools-version: 6.2;(experimentalCGen)", [6, 2, 0], true),
        ("// swift-tools-version: 6.3 // experimentalCGen", [6, 3, 0], false),
        ("// swift-tools-version: 6", [6, 0, 0], false),
        ("import PackageDescription", nil, false),
        ("// swift-tools-version: next", nil, false),
    ]

    @Test(arguments: lines)
    func toolsVersionLine(_ text: String, _ version: [Int]?, _ enablesCGeneration: Bool) {
        let parsed = ManifestToolsVersion(manifest: text)
        #expect(parsed?.version == version)
        #expect((parsed?.enablesCGeneration ?? false) == enablesCGeneration)
    }

    static let flagged = "// swift-tools-version: 6.3;(experimentalCGen)\n"
    static let plain = "// swift-tools-version: 6.3\n"

    @Test func cGenerationNeedsTheFlagInTheManifestSwiftPMRead() {
        func problem(_ version: [Int], _ manifests: [(path: String, text: String)]) -> String? {
            PackageSetup.cGenerationProblem(toolsVersion: version, manifests: manifests, target: "CRepro")
        }
        #expect(problem([6, 3, 0], [("/p/Package.swift", Self.flagged)]) == nil)
        #expect(
            problem([6, 3, 0], [("/p/Package.swift", Self.plain)])
                == "/p/Package.swift: ProtoqueueCGenerator adds generated C to target 'CRepro', which SwiftPM allows "
                + "only with an experimental manifest flag: make the first line of the manifest "
                + "'// swift-tools-version: 6.3;(experimentalCGen)' (it is '// swift-tools-version: 6.3'). Without "
                + "it SwiftPM drops the generated C ('C source file generation not enabled') and the Swift wrappers "
                + "fail with 'cannot find ... in scope'.")
        // Too old even with the flag.
        #expect(
            problem([6, 2, 0], [("/p/Package.swift", "// swift-tools-version: 6.2;(experimentalCGen)")])?
                .hasPrefix("/p/Package.swift: ProtoqueueCGenerator adds generated C") == true)
        // A version-specific manifest: the one declaring the tools version SwiftPM reports is the one it read.
        #expect(
            problem(
                [6, 3, 0],
                [("/p/Package.swift", "// swift-tools-version: 6.0\n"), ("/p/Package@swift-6.3.swift", Self.flagged)])
                == nil)
        #expect(
            problem([6, 3, 0], [("/p/Package.swift", Self.flagged), ("/p/Package@swift-6.3.swift", Self.plain)])
                == nil)
        #expect(
            problem(
                [6, 3, 0],
                [("/p/Package.swift", "// swift-tools-version: 6.0\n"), ("/p/Package@swift-6.3.swift", Self.plain)])?
                .hasPrefix("/p/Package@swift-6.3.swift:") == true)
        // No manifest declares the reported version: nothing can be told, so nothing is refused.
        #expect(problem([6, 3, 0], [("/p/Package.swift", "// swift-tools-version: 6.1\n")]) == nil)
        #expect(problem([6, 3, 0], []) == nil)
    }

    @Test func skippedCTargetMessages() {
        #expect(
            PackageSetup.skippedCTarget(name: "CRepro", directory: "/p/Sources/CRepro", hasIncludeDirectory: false)
                == "C target CRepro has no include/ directory, so SwiftPM skips it (a C target needs a source or "
                + "header of its own; the generated ones come later) and the plugins cannot see it: create "
                + "/p/Sources/CRepro/include/CRepro.h holding a comment as a placeholder")
        #expect(
            PackageSetup.skippedCTarget(name: "CRepro", directory: "/p/Sources/CRepro/", hasIncludeDirectory: true)
                .hasPrefix("C target CRepro has no header in its include/ directory, so SwiftPM skips it"))
    }
}
