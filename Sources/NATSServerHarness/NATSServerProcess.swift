public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
