import Foundation
import Protoqueue

#if canImport(Glibc)
import Glibc
#endif

/// A benchmark payload type: one `bytes` field (field 1), hand-encoded protobuf.
/// (Stands in for the generated example types until the code generator lands.)
struct BenchTask: ProtoqueueMessage {
    static let protoMessageName = "protoqueue.bench.BenchTask"
    var payload: [UInt8] = []
    var unknownFields = ProtoqueueUnknownFields()

    init() {}
    init(payload: [UInt8]) { self.payload = payload }

    init(serializedBytes bytes: [UInt8]) throws(ProtoqueueError) {
        guard bytes.count >= 2, bytes[0] == 0x0A, Int(bytes[1]) == bytes.count - 2, bytes[1] < 0x80 else {
            if bytes.isEmpty { return }
            throw ProtoqueueError(.decodingFailed, "\(Self.protoMessageName): unexpected encoding")
        }
        payload = Array(bytes[2...])
    }

    func serializedBytes() throws(ProtoqueueError) -> [UInt8] {
        guard !payload.isEmpty else { return [] }
        precondition(payload.count < 0x80)
        return [0x0A, UInt8(payload.count)] + payload
    }
}

/// A private nats-server on a free loopback port with a temporary store, stopped by its pid.
final class BenchServer {
    let url: String
    private let process: Process
    private let directory: URL

    init() throws {
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else { throw ProtoqueueError(.connectionFailed, "nats-server not found and NATS_URL not set") }
        let port = Self.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("protoqueue-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", directory.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        url = "nats://127.0.0.1:\(port)"
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !Self.accepts(port) { usleep(50_000) }
    }

    func stop() {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}
