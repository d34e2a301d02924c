import CNats
import Foundation
import NATSServerHarness

/// Direct nats.c access for tests: reads stored messages, publishes, and deletes streams or consumers behind the
/// library's back (what another process or an operator would do). The one raw nats.c helper of both test targets.
public final class RawNATS: @unchecked Sendable {
    public let connection: OpaquePointer
    public let js: OpaquePointer

    public init(url: String, user: String? = nil, password: String? = nil) throws {
        var options: OpaquePointer?
        natsOptions_Create(&options)
        natsOptions_SetURL(options, url)
        if let user, let password { natsOptions_SetUserInfo(options, user, password) }
        var nc: OpaquePointer?
        let status = natsConnection_Connect(&nc, options)
        natsOptions_Destroy(options)
        guard status == NATS_OK, let nc else { throw HarnessError("raw connect failed: \(status)") }
        var context: OpaquePointer?
        natsConnection_JetStream(&context, nc, nil)
        connection = nc
        js = context!
    }

    deinit {
        jsCtx_Destroy(js)
        natsConnection_Destroy(connection)
    }

    public struct StoredMessage {
        public var subject: String
        public var data: [UInt8]
        public var headers: [String: String]
    }

    /// The message at `sequence` of `stream`.
    public func message(stream: String, sequence: UInt64) throws -> StoredMessage {
        var message: OpaquePointer?
        var jerr = jsErrCode(0)
        let status = js_GetMsg(&message, js, stream, sequence, nil, &jerr)
        guard status == NATS_OK, let message else {
            throw HarnessError("js_GetMsg \(stream)#\(sequence): status \(status.rawValue) jerr \(jerr.rawValue)")
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
    public func messageCount(stream: String) throws -> UInt64 {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jerr = jsErrCode(0)
        let status = js_GetStreamInfo(&info, js, stream, nil, &jerr)
        guard status == NATS_OK, let info else { throw HarnessError("stream info \(stream): \(status.rawValue)") }
        defer { jsStreamInfo_Destroy(info) }
        return info.pointee.State.Msgs
    }

    /// The last stream sequence a consumer delivered, and its stream's last sequence.
    public func deliveredAndLast(stream: String, consumer: String) throws -> (delivered: UInt64, last: UInt64) {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var jerr = jsErrCode(0)
        let status = js_GetConsumerInfo(&info, js, stream, consumer, nil, &jerr)
        guard status == NATS_OK, let info else { throw HarnessError("consumer info \(consumer): \(status.rawValue)") }
        defer { jsConsumerInfo_Destroy(info) }
        var streamInfo: UnsafeMutablePointer<jsStreamInfo>?
        let streamStatus = js_GetStreamInfo(&streamInfo, js, stream, nil, &jerr)
        guard streamStatus == NATS_OK, let streamInfo else {
            throw HarnessError("stream info \(stream): \(streamStatus.rawValue)")
        }
        defer { jsStreamInfo_Destroy(streamInfo) }
        return (info.pointee.Delivered.Stream, streamInfo.pointee.State.LastSeq)
    }

    /// Max age (ns) of a stream's configuration.
    public func maxAge(stream: String) throws -> Int64 {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jerr = jsErrCode(0)
        let status = js_GetStreamInfo(&info, js, stream, nil, &jerr)
        guard status == NATS_OK, let info else { throw HarnessError("stream info \(stream): \(status.rawValue)") }
        defer { jsStreamInfo_Destroy(info) }
        return info.pointee.Config.pointee.MaxAge
    }

    /// Creates a work-queue stream capturing `subjects` with a 2-minute duplicate window (the library's defaults
    /// otherwise), as an earlier version or an operator would have.
    public func createWorkQueueStream(_ name: String, subjects: [String]) throws {
        var config = jsStreamConfig()
        jsStreamConfig_Init(&config)
        let cSubjects = subjects.map { strdup($0) }
        defer { cSubjects.forEach { free($0) } }
        var pointers = cSubjects.map { UnsafePointer($0) }
        var jerr = jsErrCode(0)
        let status = name.withCString { cName in
            pointers.withUnsafeMutableBufferPointer { buffer in
                config.Name = cName
                config.Subjects = buffer.baseAddress
                config.SubjectsLen = Int32(buffer.count)
                config.Retention = js_WorkQueuePolicy
                config.Storage = js_FileStorage
                config.Discard = js_DiscardNew
                config.Duplicates = 120_000_000_000
                return js_AddStream(nil, js, &config, nil, &jerr)
            }
        }
        guard status == NATS_OK else {
            throw HarnessError("create stream \(name): \(status.rawValue) jerr \(jerr.rawValue)")
        }
    }

    public func deleteStream(_ name: String) throws {
        var jerr = jsErrCode(0)
        let status = js_DeleteStream(js, name, nil, &jerr)
        guard status == NATS_OK else {
            throw HarnessError("delete stream \(name): \(status.rawValue) jerr \(jerr.rawValue)")
        }
    }

    public func deleteConsumer(stream: String, consumer: String) throws {
        var jerr = jsErrCode(0)
        let status = js_DeleteConsumer(js, stream, consumer, nil, &jerr)
        guard status == NATS_OK else { throw HarnessError("delete consumer \(consumer): \(status.rawValue)") }
    }

    /// Publishes raw bytes synchronously (used to put tasks in a stream without the library).
    public func publish(subject: String, data: [UInt8], headers: [String: String] = [:]) throws -> UInt64 {
        var message: OpaquePointer?
        _ = data.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                natsMsg_Create(&message, subject, nil, $0.baseAddress, Int32($0.count))
            }
        }
        defer { natsMsg_Destroy(message) }
        for (key, value) in headers { natsMsgHeader_Set(message, key, value) }
        var ack: UnsafeMutablePointer<jsPubAck>?
        var jerr = jsErrCode(0)
        let status = js_PublishMsg(&ack, js, message, nil, &jerr)
        guard status == NATS_OK, let ack else {
            throw HarnessError("publish \(subject): \(status.rawValue) jerr \(jerr.rawValue)")
        }
        defer { jsPubAck_Destroy(ack) }
        return ack.pointee.Sequence
    }
}
