public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the harness itself (a server that did not start, a tool that is missing).
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    /// Whether a server failed to start because its port was taken.
    public var isPortInUse: Bool
    public init(_ description: String, isPortInUse: Bool = false) {
        self.description = description
        self.isPortInUse = isPortInUse
    }
}

/// Where the harness finds its tools.
public enum HarnessEnvironment {
    /// Whether this run is CI (`CI=true`): then a missing server, binary or Python package fails, never skips.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The nats-server binary: `$NATS_SERVER_BIN`, else `/usr/sbin/nats-server`, else `nats-server` on `PATH`.
    /// A `NATS_SERVER_BIN` that is set but not executable is an error, never silently replaced.
    public static func serverBinary() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["NATS_SERVER_BIN"], !explicit.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw HarnessError("NATS_SERVER_BIN=\(explicit) is not an executable file")
            }
            return explicit
        }
        var candidates = ["/usr/sbin/nats-server"]
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(directory)/nats-server")
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HarnessError("nats-server not found (apt-get install nats-server, or set NATS_SERVER_BIN)")
        }
        return found
    }

    /// Whether a server binary is available at all.
    public static var serverAvailable: Bool { (try? serverBinary()) != nil }

    /// The version the binary reports (`2.9.10`), parsed from `nats-server --version`.
    public static func serverVersion(_ binary: String) throws -> ServerVersion {
        let output = try runTool(binary, ["--version"]).output
        guard let word = output.split(whereSeparator: { $0 == " " || $0 == "\n" }).first(where: { $0.hasPrefix("v") }),
            let version = ServerVersion(String(word.dropFirst()))
        else { throw HarnessError("cannot read the version of \(binary): \(output)") }
        return version
    }

    /// The Python interpreter with the test packages: `$PROTOQUEUE_PYTHON`, else `<package>/.venv/bin/python`.
    public static func python(packageRoot: URL) throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["PROTOQUEUE_PYTHON"], !explicit.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw HarnessError("PROTOQUEUE_PYTHON=\(explicit) is not executable")
            }
            return explicit
        }
        let venv = packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: venv) else {
            throw HarnessError("no Python virtual environment at \(venv) (run scripts/install-dependencies.sh)")
        }
        return venv
    }

    /// Runs a tool to completion (at most `timeout`), returning its exit status and combined output.
    @discardableResult
    public static func runTool(
        _ path: String, _ arguments: [String], timeout: TimeInterval = 60
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        // Read while it runs so a large output cannot block it.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            throw HarnessError("\(path) \(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
        }
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// A nats-server version (`major.minor.patch`).
public struct ServerVersion: Comparable, Sendable, CustomStringConvertible {
    public var major: Int, minor: Int, patch: Int
    public init?(_ text: String) {
        let parts = text.split(separator: ".").map { Int($0.prefix { $0.isNumber }) }
        guard parts.count >= 3, let a = parts[0], let b = parts[1], let c = parts[2] else { return nil }
        (major, minor, patch) = (a, b, c)
    }
    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        (self.major, self.minor, self.patch) = (major, minor, patch)
    }
    public static func < (l: Self, r: Self) -> Bool { (l.major, l.minor, l.patch) < (r.major, r.minor, r.patch) }
    public var description: String { "\(major).\(minor).\(patch)" }
}
