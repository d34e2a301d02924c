import CNats
import Foundation
import Logging
import Protoqueue

/// Direct nats.c access for tests: reads stored messages and creates or deletes streams behind the library's back.
final class RawNATS: @unchecked Sendable {
    let connection: OpaquePointer
    let js: OpaquePointer

    init(url: String, user: String? = nil, password: String? = nil) throws {
        var options: OpaquePointer?
        natsOptions_Create(&options)
        natsOptions_SetURL(options, url)
        if let user, let password { natsOptions_SetUserInfo(options, user, password) }
        var nc: OpaquePointer?
        let status = natsConnection_Connect(&nc, options)
        natsOptions_Destroy(options)
        guard status == NATS_OK, let nc else { throw TestServerError(description: "raw connect failed: \(status)") }
        var context: OpaquePointer?
        natsConnection_JetStream(&context, nc, nil)
        connection = nc
        js = context!
    }

    deinit {
        jsCtx_Destroy(js)
        natsConnection_Destroy(connection)
    }

    struct StoredMessage {
        var subject: String
        var data: [UInt8]
        var headers: [String: String]
    }

    /// The message at `sequence` of `stream`.
    func message(stream: String, sequence: UInt64) throws -> StoredMessage {
        var message: OpaquePointer?
        var jerr = jsErrCode(0)
        let status = js_GetMsg(&message, js, stream, sequence, nil, &jerr)
        guard status == NATS_OK, let message else {
            throw TestServerError(description: "js_GetMsg \(stream)#\(sequence): status \(status.rawValue) jerr \(jerr.rawValue)")
        }
        defer { natsMsg_Destroy(message) }
        let length = Int(natsMsg_GetDataLength(message))
        var data: [UInt8] = []
        if length > 0, let pointer = natsMsg_GetData(message) {
            data = Array(UnsafeRawBufferPointer(start: pointer, count: length))
        }
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        var headers: [String: String] = [:]
        if natsMsgHeader_Keys(message, &keys, &count) == NATS_OK, let keys {
            for index in 0..<Int(count) {
                guard let key = keys[index] else { continue }
                var value: UnsafePointer<CChar>?
                if natsMsgHeader_Get(message, key, &value) == NATS_OK, let value {
                    headers[String(cString: key)] = String(cString: value)
                }
            }
            free(keys)
        }
        return StoredMessage(subject: String(cString: natsMsg_GetSubject(message)), data: data, headers: headers)
    }

    /// Message count of a stream.
    func messageCount(stream: String) throws -> UInt64 {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jerr = jsErrCode(0)
        let status = js_GetStreamInfo(&info, js, stream, nil, &jerr)
        guard status == NATS_OK, let info else { throw TestServerError(description: "stream info \(stream): \(status.rawValue)") }
        defer { jsStreamInfo_Destroy(info) }
        return info.pointee.State.Msgs
    }

    /// Max age (ns) of a stream's configuration.
    func maxAge(stream: String) throws -> Int64 {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jerr = jsErrCode(0)
        let status = js_GetStreamInfo(&info, js, stream, nil, &jerr)
        guard status == NATS_OK, let info else { throw TestServerError(description: "stream info \(stream): \(status.rawValue)") }
        defer { jsStreamInfo_Destroy(info) }
        return info.pointee.Config.pointee.MaxAge
    }

    func deleteStream(_ name: String) throws {
        var jerr = jsErrCode(0)
        let status = js_DeleteStream(js, name, nil, &jerr)
        guard status == NATS_OK else { throw TestServerError(description: "delete stream \(name): \(status.rawValue)") }
    }

    func deleteConsumer(stream: String, consumer: String) throws {
        var jerr = jsErrCode(0)
        let status = js_DeleteConsumer(js, stream, consumer, nil, &jerr)
        guard status == NATS_OK else { throw TestServerError(description: "delete consumer \(consumer): \(status.rawValue)") }
    }

    /// Publishes raw bytes synchronously (used to put tasks in a stream without the library).
    func publish(subject: String, data: [UInt8], headers: [String: String] = [:]) throws -> UInt64 {
        var message: OpaquePointer?
        _ = data.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { natsMsg_Create(&message, subject, nil, $0.baseAddress, Int32($0.count)) }
        }
        defer { natsMsg_Destroy(message) }
        for (key, value) in headers { natsMsgHeader_Set(message, key, value) }
        var ack: UnsafeMutablePointer<jsPubAck>?
        var jerr = jsErrCode(0)
        let status = js_PublishMsg(&ack, js, message, nil, &jerr)
        guard status == NATS_OK, let ack else { throw TestServerError(description: "publish \(subject): \(status.rawValue) jerr \(jerr.rawValue)") }
        defer { jsPubAck_Destroy(ack) }
        return ack.pointee.Sequence
    }
}

/// A logger for tests: warnings and above to stderr.
func testLogger(_ label: String = "protoqueue.tests") -> Logger {
    var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
    logger.logLevel = ProcessInfo.processInfo.environment["PROTOQUEUE_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
    return logger
}

/// Connects the library to `url` with short timeouts suitable for tests.
func connect(
    _ url: String,
    authentication: NATSConnectionConfiguration.Authentication? = nil,
    requestTimeout: Duration = .seconds(5)
) async throws(ProtoqueueError) -> NATSConnection {
    let configuration = NATSConnectionConfiguration(
        servers: [url],
        name: "protoqueue-tests",
        authentication: authentication,
        connectTimeout: .seconds(2),
        requestTimeout: requestTimeout
    )
    return try await NATSConnection.connect(configuration, logger: testLogger())
}

/// A log handler that keeps messages, to check what the library logged.
struct CapturingLogHandler: LogHandler {
    final class Store: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
        var messages: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.append("\(event.level) \(event.message)")
    }
}
