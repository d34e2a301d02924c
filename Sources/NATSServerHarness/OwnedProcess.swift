public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    let socket = LoopbackSocket()
    defer { socket.close() }
    return socket.port
}

/// A TCP socket bound to a port the kernel picked on 127.0.0.1, listening when asked: for a port nobody uses, or a
/// peer that accepts connections and never speaks.
public struct LoopbackSocket: Sendable {
    public let descriptor: Int32
    public let port: Int
    /// Whether `listen` succeeded (false when no backlog was given).
    public let isListening: Bool

    /// Binds a new socket; with `backlog`, also listens.
    public init(listeningWithBacklog backlog: Int32? = nil) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        isListening = backlog.map { listen(descriptor, $0) == 0 } ?? false
    }

    public func close() {
        #if canImport(Glibc)
        _ = Glibc.close(descriptor)
        #else
        _ = Darwin.close(descriptor)
        #endif
    }
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
