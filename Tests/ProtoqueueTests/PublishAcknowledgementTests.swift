import CNats
import Testing

@testable import Protoqueue

/// The batch path reads the server's publish acknowledgements itself (no nats.c JetStream context in between).
@Suite("Publish acknowledgements and reply subjects")
struct PublishAcknowledgementTests {
    func parse(_ text: String) -> PublishAcknowledgement? {
        Array(text.utf8).withUnsafeBytes { PublishAcknowledgement.parse($0) }
    }

    @Test func readsWhatServersSend() {
        #expect(parse(#"{"stream":"emails","seq":7}"#) == .stored(stream: "emails", sequence: 7, duplicate: false))
        #expect(
            parse(#"{"stream":"emails","seq":7,"duplicate":true}"#)
                == .stored(stream: "emails", sequence: 7, duplicate: true))
        #expect(
            parse(#" { "stream" : "e", "domain":"hub", "seq" : 18446744073709551615 , "duplicate":false } "#)
                == .stored(stream: "e", sequence: .max, duplicate: false))
        #expect(
            parse(
                #"{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"#
                    + #""stream":"emails","seq":0}"#
            )
                == .refused(code: 503, errorCode: 10077, description: "maximum messages exceeded")
        )
    }

    @Test func skipsFieldsItDoesNotKnowAndDecodesEscapes() {
        #expect(
            parse(#"{"future":[1,{"a":null},"x\"y",-2.5e3,true],"stream":"s\u00e9\n","seq":1,"other":{"deep":[[]]}}"#)
                == .stored(stream: "sé\n", sequence: 1, duplicate: false)
        )
        #expect(
            parse(#"{"error":{"code":400,"err_code":10054,"description":"message size \"12\" exceeds \\ maximum"}}"#)
                == .refused(code: 400, errorCode: 10054, description: #"message size "12" exceeds \ maximum"#)
        )
    }

    @Test(arguments: [
        "", "null", "{}", #"{"stream":"s"}"#, #"{"seq":-1}"#, #"{"seq":99999999999999999999}"#,
        #"{"stream":"s","seq":1"#,
        #"{"stream":"s,"seq":1}"#, #"{"seq":1,}"#, "[1]", #"{"error":{"code":1}"#, #"{"stream":"\u12"}"#,
    ])
    func refusesWhatIsNotAnAcknowledgement(_ text: String) {
        #expect(parse(text) == nil, "\(text)")
    }

    @Test func deepNestingIsRefusedNotRecursedWithoutBound() {
        let deep =
            #"{"x":"# + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + #","seq":1}"#
        #expect(parse(deep) == nil)
    }

    @Test(arguments: [0, 7, 10, 99, 100, 123_456_789, Int(Int32.max)])
    func replySubjectsCarryTheirPosition(_ position: Int) throws {
        let reply = ReplySubject(prefix: Array("_INBOX.abc.".utf8), token: position)
        let written = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: reply.byteCount) { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<reply.write(into: buffer)]), as: UTF8.self)
        }
        #expect(written == "_INBOX.abc.\(position)")
        #expect(reply.byteCount == written.utf8.count)
        #expect(nats_Open(-1) == NATS_OK)  // a connection does this; here no connection is made
        let message = try PreparedMessage(subject: "tasks.a", headers: [("k", "v")], body: [1, 2, 3], id: "x")
            .makeMessage(reply: reply)
        defer { message.destroy() }
        #expect(String(cString: natsMsg_GetReply(message.pointer)) == written)
        #expect(natsMsg_GetDataLength(message.pointer) == 3)
        var value: UnsafePointer<CChar>?
        #expect(natsMsgHeader_Get(message.pointer, "k", &value) == NATS_OK)
        #expect(value.map { String(cString: $0) } == "v")
    }
}
