import Testing

@testable import Protoqueue

/// A dead-letter record's failure headers, written by a worker and read back by `deadLetters()`.
@Suite("Dead-letter record")
struct DeadLetterRecordTests {
    typealias H = WireFormat.DeadLetterHeader

    private func record(
        _ reason: DeadLetterReason, error: String = "boom", details: [String: String] = [:]
    )
        -> DeadLetterRecord
    {
        DeadLetterRecord(
            reason: reason, error: error, details: details, attempts: 3, subject: "q.ready.default", stream: "Q",
            sequence: 42, consumer: "q_workers", failedAt: 1_700_000_000_123
        )
    }

    private func firstValues(_ headers: [(String, String)]) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in headers where result[key] == nil { result[key] = value }
        return result
    }

    @Test(arguments: [DeadLetterReason.failed, .retriesExhausted, .decode, .maxDeliveries])
    func everyReasonRoundTrips(reason: DeadLetterReason) {
        let written = record(reason, details: ["smtp": "550 mailbox full", "template": "t-1"])
        let headers = written.headers(original: [("Nats-Msg-Id", "task-1"), ("Protoqueue-Meta-tenant", "acme")])
        #expect(DeadLetterRecord(headers: firstValues(headers)) == written)
    }

    @Test func originalHeadersAreKeptAndNatsControlHeadersMoved() {
        let headers = record(.failed).headers(original: [
            ("Nats-Msg-Id", "task-1"), ("Nats-Expected-Stream", "Q"), ("Protoqueue-Meta-tenant", "acme"),
            ("X-Trace", "a"), ("X-Trace", "b"),
        ])
        #expect(
            headers.prefix(5).map(\.0) == [
                "Protoqueue-Original-Nats-Msg-Id", "Protoqueue-Original-Nats-Expected-Stream", "Protoqueue-Meta-tenant",
                "X-Trace", "X-Trace",
            ])
        #expect(headers.filter { $0.0 == "X-Trace" }.map(\.1) == ["a", "b"])
        #expect(!headers.contains { $0.0.lowercased().hasPrefix("nats-") })
        #expect(DeadLetterRecord.taskID(headers: firstValues(headers)) == "task-1")
    }

    @Test func aReplayedTaskThatFailsAgainGetsFreshFailureHeaders() {
        let first = record(.failed, error: "first").headers(original: [("Nats-Msg-Id", "task-1")])
        let second = record(.retriesExhausted, error: "second").headers(original: first.map { ($0.0, $0.1) })
        #expect(second.filter { $0.0 == H.reason }.map(\.1) == ["retriesExhausted"])
        #expect(second.filter { $0.0 == H.error }.map(\.1) == ["second"])
    }

    @Test func errorAndDetailValuesAreSanitizedAndDetailKeysMadeHeaderSafe() {
        let long = String(repeating: "é", count: 600)  // 1,200 bytes
        let headers = firstValues(
            record(.failed, error: "line one\r\nline two", details: ["a b/c": "  ", "ok": long, "": "dropped"])
                .headers(original: [])
        )
        #expect(headers[H.error] == "line one line two")  // CR LF is one character: one space
        #expect(headers[H.detailPrefix + "a_b_c"] == "(empty)")
        #expect(headers[H.detailPrefix + "ok"]?.utf8.count == 1024)
        #expect(!headers.keys.contains(H.detailPrefix))
        #expect(DeadLetterRecord.detailKey(String(repeating: "k", count: 200)).count == 128)
    }

    @Test func detailKeysThatCleanAlikeAreAllKeptWithANumber() {
        let written = record(.failed, details: ["a b": "1", "a/b": "2", "a_b": "3"]).headers(original: [])
        // Key order: "a b" < "a/b" < "a_b"; each cleans to "a_b".
        #expect(
            written.filter { $0.0.hasPrefix(H.detailPrefix) }.map { "\($0.0)=\($0.1)" } == [
                H.detailPrefix + "a_b=1", H.detailPrefix + "a_b_2=2", H.detailPrefix + "a_b_3=3",
            ])
        #expect(DeadLetterRecord(headers: firstValues(written)).details == ["a_b": "1", "a_b_2": "2", "a_b_3": "3"])
    }

    @Test func theErrorIsCutOnACharacterBoundaryThenTrimmed() {
        // 1,023 ASCII bytes, then a 2-byte character that would pass the limit: cut before it.
        let text = String(repeating: "x", count: 1_022) + " é tail"
        let written = firstValues(record(.failed, error: text).headers(original: []))[H.error]
        #expect(written == String(repeating: "x", count: 1_022))
        #expect(WireFormat.sanitizedHeaderValue("a\0b\rc\nd\r\ne") == "a b c d e")
        #expect(WireFormat.sanitizedHeaderValue(" \t\r\n ") == "(empty)")
    }

    @Test func aRecordMissingFieldsReadsAsUnknownAndZero() {
        let parsed = DeadLetterRecord(headers: [H.attempts: "many", H.failedAt: ""])
        #expect(parsed.reason.name == "unknown")
        #expect(parsed.error == "")
        #expect(parsed.attempts == 0)
        #expect(parsed.sequence == 0)
        #expect(parsed.failedAt == nil)
        #expect(parsed.details.isEmpty)
        #expect(DeadLetterRecord.taskID(headers: [:]) == nil)
    }

    @Test func aReplayTakesTheProducersHeadersOnly() {
        let stored: [(name: String, value: String)] = [
            ("Protoqueue-Original-Nats-Msg-Id", "task-1"), ("Protoqueue-Meta-tenant", "acme"), (H.reason, "failed"),
            (WireFormat.taskIDHeader, "task-1"), (WireFormat.replayedFromHeader, "Q_DLQ:1"), ("Nats-Msg-Id", "x"),
            ("X-Trace", "a"), (WireFormat.priorAttemptsHeader, "2"), (WireFormat.notBeforeHeader, "7"),
        ]
        #expect(DeadLetterRecord.replayedHeaders(of: stored).map(\.0) == ["Protoqueue-Meta-tenant", "X-Trace"])
    }
}
