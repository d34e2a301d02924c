import CNats
import Dispatch
import Foundation
import Logging
import NATSServerHarness
import Protoqueue
import Synchronization
import TaskSchemas

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The nats-server the queue scenarios use: `NATS_URL` when set, else a private JetStream server (NATSServerHarness)
/// on a free 127.0.0.1 port with a temporary store, started on first use and stopped when the bench exits.
enum BenchNATS {
    private static let server = Mutex<NATSServerProcess?>(nil)

    /// The process id of the private server, `nil` before it started or with `NATS_URL`.
    static var serverPID: pid_t? { server.withLock { $0?.pid } }

    static func url() throws -> String {
        if let external = ProcessInfo.processInfo.environment["NATS_URL"], !external.isEmpty { return external }
        return try server.withLock { server -> String in
            if let server { return server.url }
            let directory = try NATSServerProcess.temporaryDirectory(prefix: "protoqueue-bench")
            let started = try NATSServerProcess(directory: directory)
            server = started
            atexit { BenchNATS.server.withLock { $0 }?.stopAndRemove() }
            return started.url
        }
    }

    /// A library connection for a scenario.
    static func connect() async throws -> NATSConnection {
        var logger = Logger(label: "protoqueue-bench")
        logger.logLevel = .error
        return try await NATSConnection.connect(.init(servers: [try url()], name: "protoqueue-bench"), logger: logger)
    }

    static var logger: Logger {
        var logger = Logger(label: "protoqueue-bench", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .error
        return logger
    }

    /// Fills a queue with `count` sample tasks through `enqueueBatch`, in chunks so memory stays bounded.
    static func fill(_ queue: Queue<EmailTask>, count: Int) async throws {
        var done = 0
        while done < count {
            let chunk = min(50_000, count - done)
            let results = try await queue.enqueueBatch(Array(repeating: SampleEmailTask.value, count: chunk))
            for result in results { _ = try result.get() }
            done += chunk
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs async work from a synchronous scenario (the bench's main thread blocks; the work runs on the pool).
func runAsync<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = Mutex<Result<T, any Error>?>(nil)
    let semaphore = DispatchSemaphore(value: 0)
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        box.withLock { $0 = result }
        semaphore.signal()
    }
    semaphore.wait()
    return try box.withLock { $0! }.get()
}

/// Plain nats.c, for the baselines: a connection with the same send-asap setting as the library's default.
final class RawJetStream: @unchecked Sendable {
    let connection: OpaquePointer
    let js: OpaquePointer

    init(url: String) throws {
        var options: OpaquePointer?
        natsOptions_Create(&options)
        natsOptions_SetURL(options, url)
        natsOptions_SetSendAsap(options, true)
        var nc: OpaquePointer?
        let status = natsConnection_Connect(&nc, options)
        natsOptions_Destroy(options)
        guard status == NATS_OK, let nc else { throw BenchError("raw connect: \(status)") }
        var context: OpaquePointer?
        natsConnection_JetStream(&context, nc, nil)
        connection = nc
        js = context!
    }

    deinit {
        jsCtx_Destroy(js)
        natsConnection_Destroy(connection)
    }

    /// A pull subscription bound to the durable consumer `consumer`, which nats.c creates on `filter` when
    /// `create` is set (it must exist otherwise).
    func pullSubscribe(stream: String, consumer: String, filter: String, create: Bool = false) throws -> OpaquePointer {
        var subOptions = jsSubOptions()
        jsSubOptions_Init(&subOptions)
        var subscription: OpaquePointer?
        var jerr = jsErrCode(0)
        let status = stream.withCString { s in
            consumer.withCString { c in
                subOptions.Stream = s
                if !create { subOptions.Consumer = c }
                return js_PullSubscribe(&subscription, js, filter, c, nil, &subOptions, &jerr)
            }
        }
        guard status == NATS_OK, let subscription else { throw BenchError("raw pull subscribe: \(status) \(jerr)") }
        return subscription
    }

    func messageCount(stream: String) -> UInt64 {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jerr = jsErrCode(0)
        guard js_GetStreamInfo(&info, js, stream, nil, &jerr) == NATS_OK, let info else { return .max }
        defer { jsStreamInfo_Destroy(info) }
        return info.pointee.State.Msgs
    }

    /// Waits until the stream holds no message (every ack processed by the server).
    func waitUntilEmpty(stream: String) {
        while messageCount(stream: stream) != 0 { usleep(2_000) }
    }
}

/// Peak resident memory of this process (VmHWM) in MiB, and a way to reset it (Linux `clear_refs` 5).
enum ResidentMemory {
    static func peakMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }

    static func currentMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }

    static func resetPeak() {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return }
        _ = write(fd, "5", 1)
        close(fd)
    }
}
