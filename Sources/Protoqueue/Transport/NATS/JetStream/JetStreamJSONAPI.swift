import CNats
import Foundation

/// JetStream API calls that nats.c 3.4.1 has no function for (newer servers' features), as JSON requests on the
/// `$JS.API` subjects. Blocking: call them on a connection thread, inside ``NATSClient/withHandles(_:)``.
enum JetStreamJSONAPI {
    /// The server's JetStream API level (`api.level` of `$JS.API.INFO`): 1 on 2.11, 2 on 2.12, 4 on 2.14, 5 on
    /// 2.15; 0 when the server reports none (2.10 and earlier).
    static func apiLevel(_ connection: OpaquePointer, timeout: Duration) throws(ProtoqueueError) -> Int {
        let reply = try request(
            connection, subject: "$JS.API.INFO", body: "", timeout: timeout, operation: "read the JetStream API level")
        return ((reply["api"] as? [String: Any])?["level"] as? NSNumber)?.intValue ?? 0
    }

    /// Pauses `consumer` of `stream` until `until`, or resumes it when `until` is `nil` (API level 1).
    static func pause(
        _ connection: OpaquePointer, stream: String, consumer: String, until: Date?, timeout: Duration
    ) throws(ProtoqueueError) -> ConsumerPause {
        let body = until.map { "{\"pause_until\":\"\(rfc3339($0))\"}" } ?? "{}"
        let reply = try request(
            connection, subject: "$JS.API.CONSUMER.PAUSE.\(stream).\(consumer)", body: body, timeout: timeout,
            operation: "\(until == nil ? "resume" : "pause") consumer \"\(consumer)\"")
        return pauseState(paused: reply["paused"], until: reply["pause_until"])
    }

    /// Whether `consumer` of `stream` is paused (`paused` and `config.pause_until` of its info; never on servers
    /// before 2.11, which do not write them).
    static func pauseState(
        _ connection: OpaquePointer, stream: String, consumer: String, timeout: Duration
    ) throws(ProtoqueueError) -> ConsumerPause {
        let reply = try request(
            connection, subject: "$JS.API.CONSUMER.INFO.\(stream).\(consumer)", body: "", timeout: timeout,
            operation: "read consumer \"\(consumer)\"")
        return pauseState(paused: reply["paused"], until: (reply["config"] as? [String: Any])?["pause_until"])
    }

    /// The configuration of `consumer` on `stream` as the server holds it (`config` of its info), or `nil` when there
    /// is no such consumer.
    static func consumerConfig(
        _ connection: OpaquePointer, stream: String, consumer: String, timeout: Duration
    ) throws(ProtoqueueError) -> [String: Any]? {
        do throws(ProtoqueueError) {
            let reply = try request(
                connection, subject: "$JS.API.CONSUMER.INFO.\(stream).\(consumer)", body: "", timeout: timeout,
                operation: "read consumer \"\(consumer)\"")
            return reply["config"] as? [String: Any] ?? [:]
        } catch  where error.jetStreamErrorCode == NATSErrorMapping.JetStreamCode.consumerNotFound {
            return nil
        }
    }

    /// Creates durable `consumer` on `stream` with `config` (JSON fields of a consumer configuration).
    static func createConsumer(
        _ connection: OpaquePointer, stream: String, consumer: String, config: [String: Any], timeout: Duration
    ) throws(ProtoqueueError) {
        let body: [String: Any] = ["stream_name": stream, "config": config, "action": "create"]
        guard let data = try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]) else {
            throw ProtoqueueError(.natsError, "create consumer \"\(consumer)\": its configuration is not JSON")
        }
        _ = try request(
            connection, subject: "$JS.API.CONSUMER.CREATE.\(stream).\(consumer)",
            body: String(decoding: data, as: UTF8.self), timeout: timeout,
            operation: "create consumer \"\(consumer)\" on stream \"\(stream)\"")
    }

    /// Every stream of the account with its subjects (`$JS.API.STREAM.LIST`, page by page).
    static func streamSubjects(
        _ connection: OpaquePointer, timeout: Duration
    ) throws(ProtoqueueError) -> [String: [String]] {
        var streams: [String: [String]] = [:]
        var offset = 0
        while true {
            let reply = try request(
                connection, subject: "$JS.API.STREAM.LIST", body: "{\"offset\":\(offset)}", timeout: timeout,
                operation: "list streams")
            let page = reply["streams"] as? [[String: Any]] ?? []
            for stream in page {
                let config = stream["config"] as? [String: Any] ?? [:]
                guard let name = config["name"] as? String else { continue }
                streams[name] = config["subjects"] as? [String] ?? []
            }
            // Offsets, not names, advance the pages: streams created or deleted meanwhile cannot hold the loop.
            offset += page.count
            let total = (reply["total"] as? NSNumber)?.intValue ?? 0
            if page.isEmpty || offset >= total { return streams }
        }
    }

    /// The first message of `stream` at `sequence` or after it on a subject `subject` matches
    /// (`$JS.API.STREAM.MSG.GET` with `next_by_subj`, which nats.c 3.4.1 does not send; nats-server 2.9 answers it),
    /// or `nil` when there is none.
    static func message(
        _ connection: OpaquePointer, stream: String, atOrAfter sequence: UInt64, subject filter: String,
        timeout: Duration, operation: String
    ) throws(ProtoqueueError) -> StoredMessage? {
        let reply: [String: Any]
        do throws(ProtoqueueError) {
            reply = try request(
                connection, subject: "$JS.API.STREAM.MSG.GET.\(stream)",
                body: "{\"seq\":\(max(1, sequence)),\"next_by_subj\":\"\(filter)\"}", timeout: timeout,
                operation: operation)
        } catch  where error.jetStreamErrorCode == NATSErrorMapping.JetStreamCode.messageNotFound {
            return nil
        }
        guard let message = reply["message"] as? [String: Any], let subject = message["subject"] as? String,
            let found = (message["seq"] as? NSNumber)?.uint64Value
        else {
            throw ProtoqueueError(.natsError, "\(operation): the server's reply has no message")
        }
        let bytes = { (field: String) -> [UInt8] in
            (message[field] as? String).flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } ?? []
        }
        return StoredMessage(
            subject: subject, body: bytes("data"), headers: NATSHeaderBlock.fields(bytes("hdrs")), sequence: found)
    }

    /// Creates the registry's stream as a JetStream key-value bucket (the configuration KV clients create, history
    /// 1), so that any language's KV client reads it.
    static func createRegistryStream(
        _ connection: OpaquePointer, replicas: Int, timeout: Duration
    ) throws(ProtoqueueError) {
        let name = QueueLayout.registryStreamName
        let config: [String: Any] = [
            "name": name, "subjects": [QueueLayout.registrySubjects], "retention": "limits", "storage": "file",
            "num_replicas": replicas, "max_msgs_per_subject": 1, "max_msgs": -1, "max_bytes": -1, "max_age": 0,
            "max_msg_size": -1, "max_consumers": -1, "discard": "new", "duplicate_window": 120_000_000_000,
            "allow_rollup_hdrs": true, "deny_delete": true, "deny_purge": false, "allow_direct": true,
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]) else {
            throw ProtoqueueError(.natsError, "create stream \"\(name)\": its configuration is not JSON")
        }
        _ = try request(
            connection, subject: "$JS.API.STREAM.CREATE.\(name)", body: String(decoding: data, as: UTF8.self),
            timeout: timeout, operation: "create stream \"\(name)\"")
    }

    private static func pauseState(paused: Any?, until: Any?) -> ConsumerPause {
        let isPaused = (paused as? NSNumber)?.boolValue ?? false
        return ConsumerPause(paused: isPaused, until: isPaused ? (until as? String).flatMap(date(rfc3339:)) : nil)
    }

    /// Sends `body` to `subject` and returns the JSON object of the reply; an `error` in it throws the mapped error.
    private static func request(
        _ connection: OpaquePointer, subject: String, body: String, timeout: Duration, operation: String
    ) throws(ProtoqueueError) -> [String: Any] {
        var reply: OpaquePointer?
        var body = body
        let status = body.withUTF8 { bytes in
            natsConnection_Request(
                &reply, connection, subject, bytes.baseAddress, Int32(bytes.count), timeout.milliseconds)
        }
        defer { if let reply { natsMsg_Destroy(reply) } }
        guard status == NATS_OK, let reply else {
            throw NATSErrorMapping.error(status: status, operation: operation)
        }
        let length = Int(natsMsg_GetDataLength(reply))
        let data = natsMsg_GetData(reply).map { Data(bytes: $0, count: length) } ?? Data()
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ProtoqueueError(.natsError, "\(operation): the server's reply is not a JSON object")
        }
        if let error = object["error"] as? [String: Any] {
            throw NATSErrorMapping.error(
                status: NATS_ERR, jsCode: (error["err_code"] as? NSNumber)?.intValue ?? 0, operation: operation,
                errorText: error["description"] as? String)
        }
        return object
    }

    /// `date` in RFC 3339 with milliseconds, UTC, as the server reads times.
    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// A time the server wrote (RFC 3339, with up to nine fractional digits or none).
    static func date(rfc3339 text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        var text = text
        // Foundation reads at most milliseconds: drop the digits past them.
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix { $0.isASCII && $0.isNumber }
            if digits.count > 3 { text.removeSubrange(text.index(dot, offsetBy: 4)..<digits.endIndex) }
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        }
        return formatter.date(from: text)
    }
}
