import Testing

@testable import Protoqueue

/// The header block the JetStream API returns with a stored message.
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
}
