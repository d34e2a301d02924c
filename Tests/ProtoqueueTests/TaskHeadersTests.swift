import Foundation
import Testing

@testable import Protoqueue

/// Which delivered tasks a worker runs and which it dead-letters (reason `decode`) for their headers: every row of
/// `docs/wire-format.md` §6 "Refused tasks".
@Suite("Task headers")
struct TaskHeadersTests {
    static let type = "protoqueue.examples.EmailTask"
    static let complete = [
        "Nats-Msg-Id": "t-1", "Protoqueue-Type": type, "Protoqueue-Version": "1",
        "Protoqueue-Enqueued-At": "1795358701123", "Content-Type": "application/x-protobuf",
        "Protoqueue-Meta-tenant": "acme",
    ]

    static func headers(_ change: (inout [String: String]) -> Void) -> [String: String] {
        var headers = complete
        change(&headers)
        return headers
    }

    @Test func aCompleteTaskRunsWithItsIdTimeAndMetadata() {
        let headers = TaskHeaders(Self.complete)
        #expect(headers.admission(expectedType: Self.type) == .run("t-1"))
        #expect(headers.enqueuedAt == Date(timeIntervalSince1970: 1_795_358_701.123))
        #expect(headers.metadata == ["tenant": "acme"])
    }

    /// A delivery's headers as they came: a repeated name counts with its first value, as nats.c reads it.
    @Test func aRepeatedHeaderCountsWithItsFirstValue() {
        var received = ReceivedHeaders()
        for (name, value) in [
            ("Nats-Msg-Id", "t-1"), ("Protoqueue-Type", Self.type), ("Protoqueue-Version", "1"),
            ("Protoqueue-Meta-tenant", "acme"), ("Protoqueue-Type", "other.Type"), ("Nats-Msg-Id", "t-2"),
            ("Protoqueue-Meta-tenant", "globex"), ("Protoqueue-Enqueued-At", "1795358701123"),
            ("Protoqueue-Enqueued-At", "0"),
        ] {
            received.append(name, value)
        }
        let headers = TaskHeaders(received)
        #expect(headers.admission(expectedType: Self.type) == .run("t-1"))
        #expect(headers.metadata == ["tenant": "acme"])
        #expect(headers.enqueuedAt == Date(timeIntervalSince1970: 1_795_358_701.123))
        #expect(received["Nats-Msg-Id"] == "t-1" && received["nats-msg-id"] == nil)
        #expect(received.dictionary["Protoqueue-Meta-tenant"] == "acme" && received.dictionary.count == 5)
    }

    @Test func aReplayedTaskKeepsItsOriginalId() {
        let headers = TaskHeaders(
            Self.headers {
                $0["Protoqueue-Task-Id"] = "original"; $0["Nats-Msg-Id"] = "replay:x"
            })
        #expect(headers.admission(expectedType: Self.type) == .run("original"))
    }

    @Test func optionalHeadersMayBeMissing() {
        let headers = TaskHeaders(
            Self.headers {
                $0["Protoqueue-Enqueued-At"] = nil
                $0["Content-Type"] = nil
            })
        #expect(headers.admission(expectedType: Self.type) == .run("t-1"))
        #expect(headers.enqueuedAt == nil)
        #expect(TaskHeaders(Self.headers { $0["Protoqueue-Enqueued-At"] = "soon" }).enqueuedAt == nil)
    }

    @Test(arguments: [
        ("Nats-Msg-Id", "the task has no Nats-Msg-Id header (its id)"),
        ("Protoqueue-Type", "the task has no Protoqueue-Type header (its message type)"),
        ("Protoqueue-Version", "the task has no Protoqueue-Version header"),
    ])
    func aMissingRequiredHeaderIsRefusedByName(header: String, text: String) {
        let headers = TaskHeaders(Self.headers { $0[header] = nil })
        #expect(headers.admission(expectedType: Self.type) == .refuse(text))
    }

    @Test func anotherVersionIsRefused() {
        let headers = TaskHeaders(Self.headers { $0["Protoqueue-Version"] = "2" })
        #expect(
            headers.admission(expectedType: Self.type)
                == .refuse("the task is in wire-format version 2; this worker reads version 1"))
    }

    @Test func aRescheduledRetryCarriesItsPriorAttempts() {
        let headers = TaskHeaders(Self.headers { $0["Protoqueue-Prior-Attempts"] = "2" })
        #expect(headers.admission(expectedType: Self.type) == .run("t-1"))
        #expect(headers.priorAttempts == 2)
        #expect(TaskHeaders(Self.complete).priorAttempts == 0)
    }

    @Test func malformedPriorAttemptsAreRefused() {
        let headers = TaskHeaders(Self.headers { $0["Protoqueue-Prior-Attempts"] = "two" })
        #expect(
            headers.admission(expectedType: Self.type)
                == .refuse("Protoqueue-Prior-Attempts \"two\" is not a count of attempts"))
    }

    @Test func aDeadlineIsReadAndAMalformedOneRefused() {
        let headers = TaskHeaders(Self.headers { $0["Protoqueue-Start-By"] = "1795358702000" })
        #expect(headers.admission(expectedType: Self.type) == .run("t-1"))
        #expect(headers.startBy == 1_795_358_702_000)
        #expect(headers.startByDate == Date(timeIntervalSince1970: 1_795_358_702))
        #expect(TaskHeaders(Self.complete).startBy == nil)
        for bad in ["soon", "-5", "", "99999999999999999999"] {
            #expect(
                TaskHeaders(Self.headers { $0["Protoqueue-Start-By"] = bad }).admission(expectedType: Self.type)
                    == .refuse("Protoqueue-Start-By \"\(bad)\" is not a time in Unix milliseconds"))
        }
    }

    @Test func aTimeoutIsReadAndAMalformedOneRefused() {
        let headers = TaskHeaders(Self.headers { $0["Protoqueue-Timeout"] = "1500" })
        #expect(headers.admission(expectedType: Self.type) == .run("t-1"))
        #expect(headers.timeout == .milliseconds(1500))
        #expect(TaskHeaders(Self.complete).timeout == nil)
        for bad in ["soon", "0", "-5", "", "1.5", "31536000001", "99999999999999999999"] {
            #expect(
                TaskHeaders(Self.headers { $0["Protoqueue-Timeout"] = bad }).admission(expectedType: Self.type)
                    == .refuse("Protoqueue-Timeout \"\(bad)\" is not a number of milliseconds from 1 to 31536000000"))
        }
    }

    @Test func anotherTypeIsRefused() {
        let headers = TaskHeaders(Self.headers { $0["Protoqueue-Type"] = "other.Message" })
        #expect(
            headers.admission(expectedType: Self.type)
                == .refuse("message type other.Message, expected protoqueue.examples.EmailTask"))
    }
}

@Suite("Task ids")
struct TaskIDTests {
    @Test func randomIdsAreLowerCaseVersion4UUIDs() {
        let ids = (0..<1_000).map { _ in TaskID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let text = id.rawValue
            #expect(UUID(uuidString: text) != nil, "\(text)")
            #expect(text == text.lowercased())
            #expect(Array(text)[14] == "4")
            #expect("89ab".contains(Array(text)[19]))
        }
    }

    @Test func literalsInterpolationAndTextAreTheSameId() {
        let number = 42
        let literal: TaskID = "invoice-42"
        let interpolated: TaskID = "invoice-\(number)"
        #expect(literal == interpolated)
        #expect(literal == TaskID("invoice-42"))
        #expect(literal == TaskID(rawValue: "invoice-42"))
        #expect(literal.description == "invoice-42")
        #expect(TaskID("a") < TaskID("b"))
    }
}
