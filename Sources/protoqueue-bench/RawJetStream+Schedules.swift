import CNats
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The raw JetStream API calls the server-schedule baseline needs: nats.c 3.4.1 knows neither the API level nor
/// `allow_msg_schedules`.
extension RawJetStream {
    /// The server's JetStream API level (`$JS.API.INFO`), or `nil` when it reports none (before 2.11).
    func apiLevel() -> Int? {
        guard let reply = request("$JS.API.INFO", body: "") else { return nil }
        guard let range = reply.range(of: "\"level\":") else { return nil }
        return Int(reply[range.upperBound...].prefix { $0.isNumber })
    }

    /// Creates a file stream that allows message schedules.
    func createScheduleStream(name: String, subjects: [String]) throws {
        let list = subjects.map { "\"\($0)\"" }.joined(separator: ",")
        let body = "{\"name\":\"\(name)\",\"subjects\":[\(list)],\"storage\":\"file\",\"allow_msg_schedules\":true}"
        guard let reply = request("$JS.API.STREAM.CREATE.\(name)", body: body), !reply.contains("\"error\"") else {
            throw BenchError("create schedule stream \(name) failed")
        }
    }

    /// Publishes one message with headers and waits for the server's acknowledgement.
    func publish(subject: String, body: [UInt8], headers: [String: String]) throws {
        var message: OpaquePointer?
        let created = body.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                natsMsg_Create(&message, subject, nil, $0.baseAddress, Int32($0.count))
            }
        }
        guard created == NATS_OK, let message else { throw BenchError("message for \(subject): \(created)") }
        defer { natsMsg_Destroy(message) }
        for (name, value) in headers { natsMsgHeader_Set(message, name, value) }
        var ack: UnsafeMutablePointer<jsPubAck>?
        var jerr = jsErrCode(0)
        let status = js_PublishMsg(&ack, js, message, nil, &jerr)
        if let ack { jsPubAck_Destroy(ack) }
        guard status == NATS_OK else { throw BenchError("publish to \(subject): \(status) \(jerr)") }
    }

    /// A core request; the reply's body as text, or `nil` without one.
    private func request(_ subject: String, body: String) -> String? {
        var reply: OpaquePointer?
        var bytes = Array(body.utf8)
        let status = bytes.withUnsafeMutableBufferPointer { buffer in
            natsConnection_Request(&reply, connection, subject, buffer.baseAddress, Int32(buffer.count), 5000)
        }
        guard status == NATS_OK, let reply else { return nil }
        defer { natsMsg_Destroy(reply) }
        let length = Int(natsMsg_GetDataLength(reply))
        guard let data = natsMsg_GetData(reply) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }
}
