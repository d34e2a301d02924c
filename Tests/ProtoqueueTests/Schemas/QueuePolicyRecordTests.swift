import Testing

@testable import Protoqueue

/// The policy record's JSON (wire format §6c) for each retry policy and priority mode.
@Suite("Queue policy record")
struct QueuePolicyRecordTests {
    static func json(_ configuration: QueueConfiguration, name: String = "emails") throws -> String {
        let layout = try QueueLayout(queueName: name, configuration: configuration)
        let record = QueuePolicyRecord(
            queue: name, taskType: "protoqueue.examples.EmailTask", configuration: configuration, layout: layout)
        return String(decoding: record.encoded(), as: UTF8.self)
    }

    @Test func theDefaultConfigurationIsTheDocumentedExample() throws {
        let expected = [
            #"{"ackWaitMs":30000,"attempts":5,"backoffMs":[],"consumer":"emails-workers","#,
            #""deadLetterStream":"emails_DLQ","deadLetterSubject":"protoqueue.emails_dlq","defaultTier":"default","#,
            #""events":false,"#,
            #""priorityMode":"weighted","queue":"emails","retry":{"initialMs":1000,"jitter":0.2,"kind":"exponential","#,
            #""maximumMs":300000,"multiplier":2},"subject":"protoqueue.emails","#,
            #""taskType":"protoqueue.examples.EmailTask","tiers":[{"name":"default","weight":1}],"version":1}"#,
        ]
        #expect(try Self.json(QueueConfiguration()) == expected.joined())
    }

    @Test func explicitAndFixedDelaysTimeoutStrictTiersAndNoDeadLetters() throws {
        var configuration = QueueConfiguration(consumer: .init(maxDeliveries: nil, backoff: []))
        configuration.retry = .explicit([.seconds(1), .milliseconds(1500)])
        configuration.timeout = .seconds(90)
        configuration.priorities = .strict(["urgent", "bulk"], default: "bulk")
        configuration.deadLetter = .disabled
        let text = try Self.json(configuration)
        #expect(!text.contains("attempts"))
        #expect(!text.contains("deadLetter"))
        #expect(text.contains(#""retry":{"delaysMs":[1000,1500],"kind":"explicit"}"#))
        #expect(text.contains(#""timeoutMs":90000"#))
        #expect(text.contains(#""priorityMode":"strict""#))
        #expect(text.contains(#""tiers":[{"name":"urgent","weight":0},{"name":"bulk","weight":0}]"#))
        configuration.retry = .fixed(.seconds(10))
        #expect(try Self.json(configuration).contains(#""retry":{"delaysMs":[10000],"kind":"fixed"}"#))
        configuration.events = .enabled()
        #expect(try Self.json(configuration).contains(#""events":true"#))
    }
}
