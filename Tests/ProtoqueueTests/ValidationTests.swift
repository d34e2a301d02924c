import CNats
import Testing

@testable import Protoqueue

@Suite("Validation before the network")
struct ValidationTests {
    @Test(arguments: ["bad.name", "has space", "star*", "gt>", "slash/x", "back\\x", "", "tab\tname"])
    func rejectsInvalidStreamNames(_ name: String) {
        #expect(throws: ProtoqueueError.self) { try Validation.name(name, kind: "stream") }
        do { try Validation.name(name, kind: "stream") } catch { #expect(error.code == .invalidName) }
    }

    @Test func acceptsValidNames() throws {
        try Validation.name("EMAILS-2_prod", kind: "stream")
        try Validation.subject("protoqueue.emails.ready.default")
    }

    @Test(arguments: ["tasks. bad", "tasks..x", ".tasks", "tasks.", "tasks.*", "tasks.>", "tasks.a\r\n", ""])
    func rejectsInvalidSubjects(_ subject: String) {
        do {
            try Validation.subject(subject)
            Issue.record("accepted \(subject.debugDescription)")
        } catch {
            #expect(error.code == .invalidName)
        }
    }

    @Test(arguments: [
        "bad key", "colon:key", "cr\rkey", "lf\nkey", "Nats-Msg-Id", "nats-expected-stream", "", "ümlaut",
    ])
    func rejectsInvalidMetadataKeys(_ key: String) {
        do {
            try Validation.metadataKey(key)
            Issue.record("accepted \(key.debugDescription)")
        } catch {
            #expect(error.code == .invalidHeader)
        }
    }

    @Test(arguments: ["line\r\nbreak", "lf\n", "cr\r", "nul\0", "", " leading", "trailing ", "\ttab"])
    func rejectsInvalidMetadataValues(_ value: String) {
        do {
            try Validation.metadataValue(value, key: "k")
            Issue.record("accepted \(value.debugDescription)")
        } catch {
            #expect(error.code == .invalidHeader)
        }
    }

    @Test func taskIDs() throws {
        try Validation.taskID("order-42:v1")
        for bad in ["", "has space", "tab\t", String(repeating: "x", count: 256), "é"] {
            #expect(throws: ProtoqueueError.self) { try Validation.taskID(bad) }
        }
    }

    @Test func generatedIDsAreVersion4UUIDs() {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let id = TaskIDGenerator.make()
            #expect(id.count == 36)
            let characters = Array(id)
            #expect(characters[14] == "4")
            #expect("89ab".contains(characters[19]))
            seen.insert(id)
        }
        #expect(seen.count == 1000)
    }

    @Test func headerSizeMatchesNATSEncoding() {
        // "NATS/1.0\r\n" (10) + "a: b\r\n" (6) + "\r\n" (2)
        #expect(WireFormat.encodedHeaderSize([("a", "b")]) == 18)
        #expect(WireFormat.encodedHeaderSize([]) == 0)
    }

    @Test func preparedMessageCarriesItsHeadersAndBodyAsNATSReadsThem() throws {
        #expect(nats_Open(-1) == NATS_OK)  // a connection does this; here no connection is made
        let body: [UInt8] = [0x0A, 0x03, 0x61, 0x62, 0x63, 0x00, 0xFF]
        let headers = [
            ("Nats-Msg-Id", "id-1"), ("Protoqueue-Type", "pkg.Task"), ("Protoqueue-Meta-note", "ümlaut ok"),
            ("Protoqueue-Meta-b", "x"),
        ]
        let message = try PreparedMessage(
            subject: "protoqueue.q.ready.default", headers: headers, body: body, id: "id-1"
        ).makeMessage()
        defer { message.destroy() }
        #expect(String(cString: natsMsg_GetSubject(message.pointer)) == "protoqueue.q.ready.default")
        let length = Int(natsMsg_GetDataLength(message.pointer))
        let data =
            natsMsg_GetData(message.pointer).map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
        #expect(data == body)
        for (key, expected) in headers {
            var value: UnsafePointer<CChar>?
            #expect(natsMsgHeader_Get(message.pointer, key, &value) == NATS_OK)
            #expect(value.map { String(cString: $0) } == expected)
        }
        let empty = try PreparedMessage(subject: "s.t", headers: [("k", "v")], body: [], id: "x").makeMessage()
        defer { empty.destroy() }
        #expect(natsMsg_GetDataLength(empty.pointer) == 0)
    }

    @Test func deadLetterHeaderValuesSurviveNATSHeaderParsing() {
        #expect(WireFormat.sanitizedHeaderValue("") == "(empty)")
        #expect(WireFormat.sanitizedHeaderValue(" \t\n") == "(empty)")
        #expect(WireFormat.sanitizedHeaderValue("boom\n") == "boom")
        #expect(WireFormat.sanitizedHeaderValue("a\r\nb") == "a b")
        #expect(WireFormat.sanitizedHeaderValue(String(repeating: "é", count: 600)).utf8.count == 1024)
    }

    @Test func parsesAckSubjects() throws {
        let plain = try #require(AckSubject("$JS.ACK.emails.emails-workers.3.1042.998.1795358701123000000.17"))
        #expect(plain == AckSubject(stream: "emails", consumer: "emails-workers", deliveries: 3, streamSequence: 1042))
        let domain = try #require(
            AckSubject("$JS.ACK.hub.ACCHASH.emails.emails-workers.1.7.7.1795358701123000000.0.rand"))
        #expect(domain == AckSubject(stream: "emails", consumer: "emails-workers", deliveries: 1, streamSequence: 7))
        for bad in [
            "", "$JS.ACK.a.b.1.2.3.4", "$JS.NAK.a.b.1.2.3.4.5", "$JS.ACK.a.b.x.2.3.4.5", "$JS.ACK.a.b.1..3.4.5",
            "$JS.ACK.a.b.99999999999999999999999.2.3.4.5", "$JS.ACK.a.b.1.2.3.4.5.6",
        ] {
            #expect(AckSubject(bad) == nil, "\(bad)")
            #expect(bad.withCString { AckSubject.counts(cString: $0) } == nil, "\(bad)")
        }
        // Running a task reads the two counts only.
        let counts = "$JS.ACK.emails.emails-workers.3.1042.998.1795358701123000000.17".withCString {
            AckSubject.counts(cString: $0)
        }
        #expect(counts == AckSubject.Counts(deliveries: 3, streamSequence: 1042))
        let domainCounts = "$JS.ACK.hub.ACCHASH.emails.emails-workers.1.7.7.1795358701123000000.0.rand".withCString {
            AckSubject.counts(cString: $0)
        }
        #expect(domainCounts == AckSubject.Counts(deliveries: 1, streamSequence: 7))
    }

    @Test func parsesPermissionViolationText() throws {
        let violation = try #require(
            NATSErrorMapping.permissionViolation(fromText: "Permissions Violation for Publish to \"tasks.a\""))
        #expect(violation.kind == .publish)
        #expect(violation.subject == "tasks.a")
        #expect(NATSErrorMapping.permissionViolation(fromText: "Authorization Violation") == nil)
    }

    @Test func queueLayout() throws {
        let layout = try QueueLayout(queueName: "emails", configuration: QueueConfiguration())
        #expect(layout.streamName == "emails")
        #expect(
            layout.streamSubjects == [
                "protoqueue.emails.ready.>", "protoqueue.emails.scheduled.>", "protoqueue.emails.control.>",
            ])
        #expect(layout.eventSubject("enqueued") == "protoqueue.emails.events.enqueued")
        #expect(layout.readySubject == "protoqueue.emails.ready.default")
        #expect(layout.consumerFilter == "protoqueue.emails.ready.>")
        #expect(layout.consumerName == "emails-workers")
        #expect(layout.deadLetterStreamName == "emails_DLQ")
        #expect(layout.deadLetterSubject == "protoqueue.emails_dlq")
        #expect(throws: ProtoqueueError.self) {
            try QueueLayout(queueName: "bad.name", configuration: QueueConfiguration())
        }
    }

    @Test func configurationValidation() {
        var configuration = QueueConfiguration()
        configuration.consumer.maxDeliveries = 2
        configuration.consumer.backoff = [.seconds(1), .seconds(2)]
        do throws(ProtoqueueError) {
            try configuration.validate()
            Issue.record("accepted maxDeliveries <= backoff steps")
        } catch {
            #expect(error.code == .invalidConfiguration)
        }
        configuration = QueueConfiguration(replicas: 2)
        #expect(throws: ProtoqueueError.self) { try configuration.validate() }
    }

    @Test func fixtureRoundTrip() throws {
        let task = InteropTask(to: "ada@example.com", subject: "Hi", priority: -3, tags: ["a", "b"])
        let bytes = try task.serializedBytes()
        #expect(try InteropTask(serializedBytes: bytes) == task)
        #expect(throws: ProtoqueueError.self) { try InteropTask(serializedBytes: [0x0A, 0x05, 0x61]) }
    }
}
