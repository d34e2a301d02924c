import CNats
import Protoqueue

/// Direct nats.c calls the harness needs and the library does not offer: which node leads a stream or consumer,
/// and publishing bytes that are not a valid task (poison).
final class RawJetStream: @unchecked Sendable {
    private let connection: OpaquePointer
    private let js: OpaquePointer

    init(servers: [String]) throws {
        var nc: OpaquePointer?
        let status = natsConnection_ConnectTo(&nc, servers.joined(separator: ","))
        guard status == NATS_OK, let nc else {
            throw ChaosError("raw connect to \(servers): status \(status.rawValue)")
        }
        var context: OpaquePointer?
        var options = jsOptions()
        jsOptions_Init(&options)
        options.Wait = 3000
        guard natsConnection_JetStream(&context, nc, &options) == NATS_OK, let context else {
            natsConnection_Destroy(nc)
            throw ChaosError("raw JetStream context")
        }
        connection = nc
        js = context
    }

    deinit {
        jsCtx_Destroy(js)
        natsConnection_Destroy(connection)
    }

    /// The server name leading the stream's Raft group, or nil while there is none.
    func streamLeader(_ stream: String) -> String? {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jerr = jsErrCode(0)
        guard js_GetStreamInfo(&info, js, stream, nil, &jerr) == NATS_OK, let info else { return nil }
        defer { jsStreamInfo_Destroy(info) }
        return info.pointee.Cluster?.pointee.Leader.map { String(cString: $0) }
    }

    /// The server name leading the consumer's Raft group, or nil while there is none.
    func consumerLeader(stream: String, consumer: String) -> String? {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var jerr = jsErrCode(0)
        guard js_GetConsumerInfo(&info, js, stream, consumer, nil, &jerr) == NATS_OK, let info else { return nil }
        defer { jsConsumerInfo_Destroy(info) }
        return info.pointee.Cluster?.pointee.Leader.map { String(cString: $0) }
    }

    /// Publishes bytes that do not decode as the queue's type, with the library's headers and `id` as Msg-Id.
    /// Returns whether the server acknowledged it.
    func publishPoison(subject: String, id: String, typeName: String) -> Bool {
        let body: [CChar] = [-1, -1, -1, 0x0F]  // a 10-byte varint that never ends: not protobuf
        var message: OpaquePointer?
        guard
            body.withUnsafeBufferPointer({ natsMsg_Create(&message, subject, nil, $0.baseAddress, Int32($0.count)) })
                == NATS_OK,
            let message
        else { return false }
        defer { natsMsg_Destroy(message) }
        natsMsgHeader_Set(message, WireFormat.Header.messageID, id)
        natsMsgHeader_Set(message, WireFormat.Header.messageType, typeName)
        natsMsgHeader_Set(message, WireFormat.Header.version, WireFormat.version)
        natsMsgHeader_Set(message, WireFormat.Header.contentType, WireFormat.contentType)
        var ack: UnsafeMutablePointer<jsPubAck>?
        var jerr = jsErrCode(0)
        let status = js_PublishMsg(&ack, js, message, nil, &jerr)
        if let ack { jsPubAck_Destroy(ack) }
        return status == NATS_OK
    }
}
