import CNats
import Foundation
import NATSTestSupport
import Testing

@testable import Protoqueue

/// Header blocks as the JetStream API returns them with a stored message, and as a delivery carries them ahead of its
/// payload.
@Suite("NATS header blocks")
struct NATSHeaderBlockTests {
    @Test func fieldsInOrderWithRepeatedNamesAndTheBlanksBeforeValuesDropped() {
        let block = Array("NATS/1.0\r\nNats-Msg-Id: t-1\r\nA:  x: y\r\nA:\tz\r\nEmpty:\r\nno colon\r\n\r\n".utf8)
        let fields = NATSHeaderBlock.fields(block)
        #expect(fields.map(\.name) == ["Nats-Msg-Id", "A", "A", "Empty"])
        #expect(fields.map(\.value) == ["t-1", "x: y", "z", ""])
        #expect(NATSHeaderBlock.fields([]).isEmpty)
        #expect(NATSHeaderBlock.fields(Array("NATS/1.0 408 Request Timeout\r\n\r\n".utf8)).isEmpty)
    }

    private static func firstValues(_ text: String, expecting texts: [String] = []) -> [String: String]? {
        Array(text.utf8).withUnsafeBytes { NATSHeaderBlock.firstValues($0, expecting: texts)?.dictionary }
    }

    /// What a delivery's block reads as: the first value of each name, without the white space around it.
    @Test(
        arguments: [
            ("NATS/1.0\r\n\r\n", [:]),
            ("NATS/1.0\r\nNats-Msg-Id: t-1\r\n\r\n", ["Nats-Msg-Id": "t-1"]),
            ("NATS/1.0\r\nA: 1\r\nB:2\r\nA: 3\r\n\r\n", ["A": "1", "B": "2"]),
            ("NATS/1.0\r\nA: \t x: y \t\r\n\r\n", ["A": "x: y"]),
            ("NATS/1.0\r\nPath: a b\u{0B}c\r\nTenant: ünïcode\r\n\r\n", ["Path": "a b\u{0B}c", "Tenant": "ünïcode"]),
            ("NATS/1.0\r\nsame-name: 1\r\nSame-Name: 2\r\n\r\n", ["same-name": "1", "Same-Name": "2"]),
        ] as [(String, [String: String])])
    func aBlockReadsAsNatsCReadsIt(block: String, values: [String: String]) {
        #expect(Self.firstValues(block) == values)
    }

    /// What this reading leaves to nats.c, which reads (or refuses) it as before.
    @Test(arguments: [
        "", "NATS/1.0\r\n", "NATS/1.0 503\r\n\r\n", "NATS/1.0 408 Request Timeout\r\nA: 1\r\n\r\n",
        "NATS/1.0\r\nA: 1\r\n", "NATS/1.0\r\nA: 1\r\n\r\nB: 2\r\n", "NATS/1.0\r\nA: 1\r\n b\r\n\r\n",
        "NATS/1.0\r\nno colon\r\n\r\n", "NATS/1.0\r\n: no name\r\n\r\n", "NATS/1.0\r\nEmpty:  \r\n\r\n",
        "NATS/1.0\r\nA: 1\r2\r\n\r\n", "NATS/1.0\r\nA: 1\n\r\n", "HTTP/1.1\r\nA: 1\r\n\r\n",
    ])
    func aBlockThisReadingDoesNotCoverIsLeftToNatsC(block: String) {
        #expect(Self.firstValues(block) == nil)
    }

    @Test func expectedValuesAndKnownNamesComeBackEqual() {
        let type = "protoqueue.examples.EmailTask"
        let values = Self.firstValues(
            "NATS/1.0\r\nProtoqueue-Type: \(type)\r\nContent-Type: application/x-protobuf\r\n\r\n", expecting: [type])
        #expect(values == ["Protoqueue-Type": type, "Content-Type": "application/x-protobuf"])
    }
}

/// The header block of messages nats.c received: found where nats.c keeps it, and read as nats.c reads it.
@Suite(
    "Received header blocks",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct ReceivedHeaderBlockTests {
    /// Sends one message with `headers` (added in order, so a repeated name has several values) and returns what
    /// the block reading and then nats.c's own reading make of it, and whether the block was found.
    private func receive(
        _ headers: [(String, String)], reply: String?, url: String
    ) throws -> (block: [String: String]?, natsC: [String: String], found: Bool) {
        let raw = try RawNATS(url: url)
        let subject = uniqueName("blocks")
        var subscription: OpaquePointer?
        #expect(natsConnection_SubscribeSync(&subscription, raw.connection, subject) == NATS_OK)
        defer { natsSubscription_Destroy(subscription) }
        var message: OpaquePointer?
        natsMsg_Create(&message, subject, reply, "payload", 7)
        for (name, value) in headers { natsMsgHeader_Add(message, name, value) }
        #expect(natsConnection_PublishMsg(raw.connection, message) == NATS_OK)
        natsMsg_Destroy(message)
        var received: OpaquePointer?
        #expect(natsSubscription_NextMsg(&received, subscription, 2_000) == NATS_OK)
        let delivery = try #require(received)
        defer { natsMsg_Destroy(delivery) }
        let block = NATSMessageReader.headerBlock(delivery)
        let read = block.flatMap { NATSHeaderBlock.firstValues($0)?.dictionary }
        // nats.c's reading writes into the block: the block reading must then give way to it.
        var natsC: [String: String] = [:]
        for (name, _) in headers where natsC[name] == nil {
            var value: UnsafePointer<CChar>?
            if natsMsgHeader_Get(delivery, name, &value) == NATS_OK, let value { natsC[name] = String(cString: value) }
        }
        #expect(NATSMessageReader.headerBlock(delivery).flatMap { NATSHeaderBlock.firstValues($0) } == nil)
        #expect(NATSMessageReader.firstHeaderValues(delivery).dictionary == natsC)
        #expect(String(cString: natsMsg_GetData(delivery)) == "payload")
        return (read, natsC, block != nil)
    }

    @Test func aDeliveryBlockReadsAsNatsCReadsIt() async throws {
        let url = try await SharedServer.url()
        let headers = [
            ("Nats-Msg-Id", "01JD5N9W3X7R2Q8K4M6P0T1V9B"), ("Protoqueue-Type", "protoqueue.examples.EmailTask"),
            ("Protoqueue-Enqueued-At", "1795358701123"), ("Protoqueue-Meta-note", "  spaces  inside  "),
            ("Protoqueue-Meta-tenant", "acme"), ("Protoqueue-Meta-tenant", "second"), ("X-Unicode", "ünïcode ✓"),
        ]
        let result = try receive(headers, reply: "_INBOX.reply.1", url: url)
        #expect(NATSMessageReader.keepsHeaderBlock)
        #expect(result.found)
        #expect(result.block == result.natsC)
        #expect(result.natsC["Protoqueue-Meta-tenant"] == "acme")
        #expect(result.natsC["Protoqueue-Meta-note"] == "spaces  inside")
    }

    @Test func aMessageWithoutAReplyOrHeadersIsLeftToNatsC() async throws {
        let url = try await SharedServer.url()
        let noReply = try receive([("A", "1")], reply: nil, url: url)
        #expect(!noReply.found && noReply.natsC == ["A": "1"])
        let noHeaders = try receive([], reply: "_INBOX.reply.2", url: url)
        #expect(!noHeaders.found && noHeaders.natsC.isEmpty)
    }
}
