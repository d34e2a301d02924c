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

/// Ports ``freeLoopbackPort()`` handed out in this process: a server that is killed and restarted keeps its port,
/// and during the gap another test must not be given it.
private let handedOutPorts = Mutex<Set<Int>>([])

/// A free TCP port on 127.0.0.1 (bound, read, released), never one already handed out in this process.
public func freeLoopbackPort() -> Int {
    for _ in 0..<100 {
        let port = kernelFreeLoopbackPort()
        let fresh = handedOutPorts.withLock { $0.insert(port).inserted }
        if fresh { return port }
    }
    return kernelFreeLoopbackPort()
}

private func kernelFreeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Pids of every process the harness started and has not reaped, killed at exit as a last resort.
nonisolated(unsafe) private var livePids: Set<pid_t> = []
private let livePidsLock = NSLock()
private let exitHook: Void = {
    atexit {
        livePidsLock.lock()
        let pids = livePids
        livePidsLock.unlock()
        for pid in pids { kill(pid, SIGKILL) }
    }
}()

func registerPid(_ pid: pid_t) {
    _ = exitHook
    livePidsLock.lock()
    livePids.insert(pid)
    livePidsLock.unlock()
}

func unregisterPid(_ pid: pid_t) {
    livePidsLock.lock()
    livePids.remove(pid)
    livePidsLock.unlock()
}

/// A child process the harness owns, by pid. A small watcher shell SIGKILLs it if this process disappears
/// (even by SIGKILL), so no child outlives the run.
public final class OwnedProcess: @unchecked Sendable {
    public let pid: pid_t
    private let process: Process
    private let watcher: Process?

    public init(
        executable: String, arguments: [String], logFile: URL?, environment: [String: String]? = nil, watch: Bool = true
    ) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let logFile {
            if !FileManager.default.fileExists(atPath: logFile.path) {  // a restart appends to the same log
                _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: logFile)
            handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        pid = process.processIdentifier
        registerPid(pid)
        if watch {
            let watcher = Process()
            watcher.executableURL = URL(fileURLWithPath: "/bin/sh")
            watcher.arguments = [
                "-c",
                "\(ProcessWatch.aliveFunction); while alive \(getpid()) && alive \(pid); do sleep 0.5; done; kill -9 "
                    + "\(pid) 2>/dev/null; exit 0",
            ]
            watcher.standardOutput = FileHandle.nullDevice
            watcher.standardError = FileHandle.nullDevice
            watcher.standardInput = FileHandle.nullDevice
            try? watcher.run()
            self.watcher = watcher
        } else {
            watcher = nil
        }
    }

    public var isRunning: Bool { process.isRunning }

    public func signal(_ signal: Int32) { if process.isRunning { kill(pid, signal) } }

    /// Waits (bounded) for the process to exit; returns whether it did.
    @discardableResult
    public func waitForExit(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if !process.isRunning {
            unregisterPid(pid)
            if let watcher, watcher.isRunning { kill(watcher.processIdentifier, SIGTERM) }
        }
        return !process.isRunning
    }

    public var terminationStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// SIGTERM, then SIGKILL after `grace`.
    public func stop(grace: TimeInterval = 5) {
        if process.isRunning { kill(pid, SIGCONT); kill(pid, SIGTERM) }
        if !waitForExit(timeout: grace) {
            kill(pid, SIGKILL)
            waitForExit(timeout: 5)
        }
    }

    deinit { if process.isRunning { kill(pid, SIGKILL) } }
}

/// A nats-server on 127.0.0.1 that the harness started from a configuration it wrote. Its store directory and
/// configuration stay in ``directory`` so it can be killed and restarted on the same data. The one launcher of the
/// tests, protoqueue-chaos and protoqueue-bench.
public final class NATSServerProcess: @unchecked Sendable {
    public let binary: String
    public let directory: URL
    /// The client port; fixed once the initializer returns.
    public private(set) var port: Int
    public let name: String
    public let configurationFile: URL
    public var logFile: URL { directory.appendingPathComponent("\(name).log") }
    public var storeDirectory: URL { directory.appendingPathComponent("\(name)-store") }
    private let configurationTail: String
    private let lock = NSLock()
    private var current: OwnedProcess?
    private var starts = 0

    /// The client URL (`nats://127.0.0.1:<port>`).
    public var url: String { "nats://127.0.0.1:\(port)" }
    public var pid: pid_t? { lock.withLock { current?.isRunning == true ? current?.pid : nil } }

    /// Writes a configuration and starts the server.
    /// - Parameters:
    /// - body: Configuration text without `listen`, `jetstream` (added unless `jetStream` is false) and `server_name`.
    ///   - directory: Where the configuration, log and store go; a new temporary directory when `nil`.
    ///   - port: Client port; a free one when `nil`, and another one if that is taken before the server binds it.
    public init(
        name: String = "n1",
        configuration body: String = "",
        jetStream: Bool = true,
        jetStreamExtra: String = "",
        directory: URL? = nil,
        port: Int? = nil,
        start: Bool = true
    ) throws {
        binary = try HarnessEnvironment.serverBinary()
        self.name = name
        self.directory = try directory ?? Self.temporaryDirectory(prefix: "protoqueue-rel")
        self.port = port ?? freeLoopbackPort()
        configurationFile = self.directory.appendingPathComponent("\(name).conf")
        let store = self.directory.appendingPathComponent("\(name)-store").path
        configurationTail = (jetStream ? "jetstream {\n  store_dir: \"\(store)\"\n\(jetStreamExtra)\n}\n" : "") + body
        do {
            try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
            try writeConfiguration()
            if start { try startOnFreePort(retrying: port == nil) }
        } catch {
            // A directory the harness made: leave nothing behind.
            if directory == nil { try? FileManager.default.removeItem(at: self.directory) }
            throw error
        }
    }

    private func writeConfiguration() throws {
        let text = "server_name: \(name)\nlisten: 127.0.0.1:\(port)\n" + configurationTail
        try text.write(to: configurationFile, atomically: true, encoding: .utf8)
    }

    /// Starts the server; when `retrying`, a port another process bound between ``freeLoopbackPort()`` and the
    /// server's own bind is replaced by a new one (at most four times).
    private func startOnFreePort(retrying: Bool) throws {
        for attempt in 1... {
            do {
                return try start()
            } catch let error as HarnessError where retrying && attempt < 5 && error.isPortInUse {
                port = freeLoopbackPort()
                try writeConfiguration()
            }
        }
    }

    public static func temporaryDirectory(prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Starts (or restarts) the server on the same configuration and store, waiting until it is ready (≤ 20 s).
    public func start(timeout: TimeInterval = 20) throws {
        let marker = lock.withLock { () -> Int in
            starts += 1
            return starts
        }
        let log = logFile
        let before = (try? Data(contentsOf: log).count) ?? 0
        let process = try OwnedProcess(executable: binary, arguments: ["-c", configurationFile.path], logFile: log)
        lock.withLock { current = process }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let data = try? Data(contentsOf: log), data.count > before,
                String(decoding: data[before...], as: UTF8.self).contains("Server is ready")
            {
                return
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        let output =
            ((try? Data(contentsOf: log)).map {
                String(decoding: $0.suffix(from: min(before, $0.count)), as: UTF8.self)
            }) ?? ""
        process.signal(SIGKILL)
        process.waitForExit(timeout: 5)
        throw HarnessError(
            "nats-server \(name) (start #\(marker), \(binary)) did not become ready on 127.0.0.1:\(port) within "
                + "\(Int(timeout)) s:\n\(output.suffix(2000))",
            isPortInUse: output.contains("address already in use")
        )
    }

    /// Sends `signal` to the server process (SIGKILL, SIGSTOP, SIGCONT…).
    public func signal(_ signal: Int32) { lock.withLock { current }?.signal(signal) }

    /// `kill -9` and wait for it to be gone.
    public func kill9() {
        guard let process = lock.withLock({ current }) else { return }
        process.signal(SIGKILL)
        process.waitForExit(timeout: 10)
    }

    public var isRunning: Bool { lock.withLock { current }?.isRunning ?? false }

    /// SIGSTOP, then waits (≤ 2 s) until every thread of the server is stopped: `kill` only queues the signal, and
    /// a thread running on another core can still answer a request in between.
    @discardableResult
    public func pause() -> Bool {
        guard let pid else { return false }
        signal(SIGSTOP)
        return waitUntilAllThreadsStopped(pid)
    }

    /// SIGCONT.
    public func resume() { signal(SIGCONT) }

    /// Stops the server (SIGTERM, then SIGKILL) by its own pid.
    public func stop() { lock.withLock { current }?.stop() }

    /// Stops the server and deletes its directory.
    public func stopAndRemove() {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The log text (for diagnostics).
    public func logText() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    deinit { lock.withLock { current }?.signal(SIGKILL) }
}

/// Waits (≤ `timeout`) until every thread of `pid` is in state T (stopped), reading /proc/<pid>/task/*/stat.
public func waitUntilAllThreadsStopped(_ pid: pid_t, timeout: TimeInterval = 2) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    let tasks = "/proc/\(pid)/task"
    while Date() < deadline {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
        let states = threads.compactMap { thread -> Character? in
            guard let stat = try? String(contentsOfFile: "\(tasks)/\(thread)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            return stat[stat.index(close, offsetBy: 2)...].first
        }
        if !states.isEmpty && states.allSatisfy({ $0 == "T" || $0 == "t" }) { return true }
        usleep(2_000)
    }
    return false
}
