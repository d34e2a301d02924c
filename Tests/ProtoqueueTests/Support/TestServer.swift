import Foundation
import NATSServerHarness
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Environment of the test run.
enum TestEnvironment {
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    static var externalURL: String? { ProcessInfo.processInfo.environment["NATS_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The nats-server binary: `$NATS_SERVER_BIN`, `/usr/sbin/nats-server`, or `nats-server` on `PATH`.
    static let serverBinary: String? = {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit = environment["NATS_SERVER_BIN"], !explicit.isEmpty { candidates.append(explicit) }
        candidates.append("/usr/sbin/nats-server")
        for directory in (environment["PATH"] ?? "").split(separator: ":") { candidates.append("\(directory)/nats-server") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Whether integration tests run. With `CI=true` they always run, so a missing server fails them.
    static var serverTestsEnabled: Bool { isCI || externalURL != nil || serverBinary != nil }
    /// Whether tests that need a private server with their own configuration run.
    static var privateServerTestsEnabled: Bool { isCI || serverBinary != nil }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func loopbackPortAccepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return result == 0
}

struct TestServerError: Error, CustomStringConvertible {
    var description: String
}

/// Pids of every server this process started, killed at exit as a last resort.
nonisolated(unsafe) private var startedServerPids: Set<pid_t> = []
private let pidLock = NSLock()
private let installExitHook: Void = {
    atexit {
        pidLock.lock()
        let pids = startedServerPids
        pidLock.unlock()
        for pid in pids { kill(pid, SIGKILL) }
    }
}()

/// A nats-server the test process started on 127.0.0.1 with a free port and a temporary store directory.
/// It runs under a small watcher shell that kills it if the test process disappears, so no server outlives the run;
/// ``stop()`` stops it by its own pid.
final class TestServer: @unchecked Sendable {
    let port: Int
    let directory: URL
    let serverPid: pid_t
    private let watcher: Process
    private let lock = NSLock()
    private var stopped = false

    var url: String { "nats://127.0.0.1:\(port)" }

    /// Starts a server. `configuration` is written to a file and passed with `-c`; the port, address, JetStream
    /// and store directory are always given on the command line.
    static func start(configuration: String? = nil, extraArguments: [String] = [], port: Int? = nil, directory: URL? = nil) async throws -> TestServer {
        try await offCooperativePool {
            try startBlocking(configuration: configuration, extraArguments: extraArguments, port: port, directory: directory)
        }
    }

    static func startBlocking(configuration: String? = nil, extraArguments: [String] = [], port fixedPort: Int? = nil, directory existing: URL? = nil) throws -> TestServer {
        guard let binary = TestEnvironment.serverBinary else {
            throw TestServerError(description: "nats-server not found (install the Debian package nats-server or set NATS_SERVER_BIN)")
        }
        _ = installExitHook
        let directory = existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("protoqueue-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = fixedPort ?? freeLoopbackPort()
        var arguments = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", directory.appendingPathComponent("store").path]
        if let configuration {
            let file = directory.appendingPathComponent("server.conf")
            try configuration.write(to: file, atomically: true, encoding: .utf8)
            arguments += ["-c", file.path]
        }
        arguments += extraArguments
        let pidFile = directory.appendingPathComponent("server.pid")
        try? FileManager.default.removeItem(at: pidFile)  // a restart in the same directory must not read the old pid
        let log = directory.appendingPathComponent("server.log")
        let quoted = ([binary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let script = """
            \(ProcessWatch.aliveFunction)
            \(quoted) >'\(log.path)' 2>&1 &
            s=$!
            echo $s > '\(pidFile.path)'
            trap 'kill $s 2>/dev/null; wait $s; exit 0' TERM INT
            while alive \(getpid()) && alive $s; do sleep 0.3; done
            kill $s 2>/dev/null
            wait $s
            """
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/bin/sh")
        watcher.arguments = ["-c", script]
        // Not the test's output pipe: `swift test` waits for every holder of it to close it (see ProcessWatch).
        watcher.standardOutput = FileHandle.nullDevice
        watcher.standardError = FileHandle.nullDevice
        watcher.standardInput = FileHandle.nullDevice
        try watcher.run()

        let deadline = Date().addingTimeInterval(15)
        var pid: pid_t = 0
        while Date() < deadline {
            if pid == 0, let text = try? String(contentsOf: pidFile, encoding: .utf8), let value = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                pid = value
                pidLock.lock()
                startedServerPids.insert(pid)
                pidLock.unlock()
            }
            // Its own log must say so: another test's server that took the same port would also accept.
            if pid != 0, let text = try? String(contentsOf: log, encoding: .utf8), text.contains("Server is ready"),
                loopbackPortAccepts(port)
            {
                return TestServer(port: port, directory: directory, serverPid: pid, watcher: watcher)
            }
            if !watcher.isRunning { break }
            usleep(50_000)
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        if pid != 0 { kill(pid, SIGKILL) }
        watcher.terminate()
        throw TestServerError(description: "nats-server did not become ready on port \(port) within 15 s: \(output)")
    }

    private init(port: Int, directory: URL, serverPid: pid_t, watcher: Process) {
        self.port = port
        self.directory = directory
        self.serverPid = serverPid
        self.watcher = watcher
    }

    /// Suspends (SIGSTOP) or resumes (SIGCONT) the server process, to simulate a stalled server.
    func suspend() { kill(serverPid, SIGSTOP) }
    func resume() { kill(serverPid, SIGCONT) }

    /// Stops the server by its pid and waits (at most 10 s) for it to exit; removes its directory unless `keepData`.
    func stop(keepData: Bool = false) {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        kill(serverPid, SIGCONT)
        kill(serverPid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while kill(serverPid, 0) == 0 && Date() < deadline { usleep(20_000) }
        if kill(serverPid, 0) == 0 { kill(serverPid, SIGKILL) }
        pidLock.lock()
        startedServerPids.remove(serverPid)
        pidLock.unlock()
        // Process.waitUntilExit can spin forever off the main thread; poll with a deadline instead.
        let watcherDeadline = Date().addingTimeInterval(5)
        while watcher.isRunning && Date() < watcherDeadline { usleep(20_000) }
        if watcher.isRunning { kill(watcher.processIdentifier, SIGKILL) }
        if !keepData { try? FileManager.default.removeItem(at: directory) }
    }

    /// The server's log, for failure messages.
    var log: String { (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? "" }

    deinit { stop() }
}

/// The server shared by most integration tests: `NATS_URL` when set, else one private server for the whole run.
enum SharedServer {
    private static let state = NSLock()
    nonisolated(unsafe) private static var server: TestServer?
    nonisolated(unsafe) private static var failure: (any Error)?

    static func url() async throws -> String {
        try await offCooperativePool { try urlBlocking() }
    }

    private static func urlBlocking() throws -> String {
        if let external = TestEnvironment.externalURL { return external }
        state.lock()
        defer { state.unlock() }
        if let server { return server.url }
        if let failure { throw failure }
        do {
            let started = try TestServer.startBlocking()
            server = started
            return started.url
        } catch {
            failure = error
            throw error
        }
    }
}

/// A unique name for per-test streams.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
}

/// Runs blocking test-harness work (process start, polling) on a thread of its own, so the tests running in parallel
/// on the cooperative pool are not starved and their timing assertions measure the library, not the harness.
func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.start()
    }
}
