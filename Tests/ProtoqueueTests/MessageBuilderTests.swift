import CNats
import Testing

@testable import Protoqueue

/// The two ways a task becomes a nats.c message give nats.c the same subject, reply, headers and body: the encoded
/// header block through `natsMsg_create` (used when libnats exports it) and the public `natsMsg_Create` +
/// `natsMsgHeader_Add` (the fallback).
@Suite("Message builder")
struct MessageBuilderTests {
    private let prepared = PreparedMessage(
        subject: "protoqueue.emails.ready.default",
        headers: [
            ("Nats-Msg-Id", "task-1"), ("Protoqueue-Type", "protoqueue.examples.EmailTask"),
            ("Protoqueue-Meta-tenant", "acme"), ("X-Trace", "a"), ("X-Trace", "b"),
        ],
        body: Array("payload bytes".utf8),
        id: "task-1"
    )

    /// nats.c initialises its library (locks, the message garbage collector) with its first connection; these
    /// tests make messages without one.
    init() { nats_Open(-1) }

    private func read(_ message: OwnedMessage) -> (String, String?, [UInt8], [(name: String, value: String)]) {
        defer { message.destroy() }
        let pointer = message.pointer
        return (
            NATSMessageReader.subject(pointer), NATSMessageReader.reply(pointer), NATSMessageReader.body(pointer),
            NATSMessageReader.headers(pointer)
        )
    }

    @Test func libnatsExportsTheEncodedConstructorSoItIsTheOneUsed() {
        #expect(PreparedMessage.encodedConstructor != nil)
    }

    @Test(arguments: [nil, 42])
    func bothConstructorsGiveTheSameMessage(replyToken: Int?) throws {
        let reply = replyToken.map { ReplySubject(prefix: Array("_INBOX.abc.".utf8), token: $0) }
        let create = try #require(PreparedMessage.encodedConstructor)
        let encoded = read(try prepared.makeEncodedMessage(reply: reply, create: create))
        let fallback = read(try prepared.makePublicAPIMessage(reply: reply))
        #expect(encoded.0 == fallback.0)
        #expect(encoded.1 == fallback.1)
        #expect(encoded.1 == replyToken.map { "_INBOX.abc.\($0)" })
        #expect(encoded.2 == fallback.2)
        #expect(encoded.2 == prepared.body)
        #expect(encoded.3.map { "\($0.name)=\($0.value)" } == fallback.3.map { "\($0.name)=\($0.value)" })
        #expect(Set(encoded.3.map { "\($0.name)=\($0.value)" }) == Set(prepared.headers.map { "\($0.0)=\($0.1)" }))
    }

    @Test func aMessageWithoutHeadersIsTheBodyAlone() throws {
        let bare = PreparedMessage(subject: "s", headers: [], body: [1, 2, 3], id: "x")
        let create = try #require(PreparedMessage.encodedConstructor)
        let encoded = read(try bare.makeEncodedMessage(reply: nil, create: create))
        let fallback = read(try bare.makePublicAPIMessage(reply: nil))
        #expect(encoded.2 == [1, 2, 3] && fallback.2 == [1, 2, 3])
        #expect(encoded.3.isEmpty && fallback.3.isEmpty)
    }
}
