import CNats
import NATSServerHarness

/// Deletes a stream with nats.c directly: what another process or an operator would do behind a queue's back.
func deleteStream(_ name: String, url: String) throws {
    var connection: OpaquePointer?
    var status = natsConnection_ConnectTo(&connection, url)
    guard status == NATS_OK, let connection else { throw HarnessError("connect \(url): \(status.rawValue)") }
    defer { natsConnection_Destroy(connection) }
    var js: OpaquePointer?
    status = natsConnection_JetStream(&js, connection, nil)
    guard status == NATS_OK, let js else { throw HarnessError("JetStream context: \(status.rawValue)") }
    defer { jsCtx_Destroy(js) }
    var jerr = jsErrCode(0)
    status = js_DeleteStream(js, name, nil, &jerr)
    guard status == NATS_OK else { throw HarnessError("delete stream \(name): \(status.rawValue) jerr \(jerr.rawValue)") }
}
