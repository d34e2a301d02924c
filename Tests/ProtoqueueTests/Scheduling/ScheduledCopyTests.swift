import Testing

@testable import Protoqueue

/// The messages that carry a retry to the scheduled subject and a due task back to its ready subject.
@Suite("Scheduled copies")
struct ScheduledCopyTests {
    private let layout = try! QueueLayout(queueName: "emails", configuration: QueueConfiguration())

    private let original: [(name: String, value: String)] = [
        ("Nats-Msg-Id", "task-1"), ("Protoqueue-Type", "protoqueue.examples.EmailTask"),
        ("Protoqueue-Version", "1"), ("Protoqueue-Meta-tenant", "acme"), ("traceparent", "00-abc-def-01"),
        ("nats-expected-stream", "emails"),
    ]

    private func pairs(_ message: PreparedMessage) -> [String] { message.headers.map { "\($0.0): \($0.1)" } }

    @Test func aRetryKeepsTheTaskAndCarriesItsIdAttemptsAndDueTime() {
        let copy = ScheduledCopy.retry(
            of: original, body: [1, 2, 3], taskSubject: "protoqueue.emails.ready.default", layout: layout,
            stream: "emails", sequence: 42, attempts: 2, notBefore: 1_800_000_000_000)
        #expect(copy.subject == "protoqueue.emails.scheduled.default")
        #expect(copy.body == [1, 2, 3])
        #expect(copy.id == "retry:emails:42")
        #expect(
            pairs(copy) == [
                "Protoqueue-Type: protoqueue.examples.EmailTask", "Protoqueue-Version: 1",
                "Protoqueue-Meta-tenant: acme", "traceparent: 00-abc-def-01", "Protoqueue-Task-Id: task-1",
                "Protoqueue-Prior-Attempts: 2", "Protoqueue-Not-Before: 1800000000000",
                "Nats-Msg-Id: retry:emails:42",
            ])
    }

    @Test func aSecondRetryReplacesTheCarriedValuesAndKeepsTheFirstId() {
        let rescheduled: [(name: String, value: String)] = [
            ("Protoqueue-Type", "t"), ("Protoqueue-Task-Id", "task-1"), ("Protoqueue-Prior-Attempts", "2"),
            ("Nats-Msg-Id", "due:emails:43"),
        ]
        let copy = ScheduledCopy.retry(
            of: rescheduled, body: [], taskSubject: "protoqueue.emails.ready.high", layout: layout, stream: "emails",
            sequence: 44, attempts: 3, notBefore: 7)
        #expect(copy.subject == "protoqueue.emails.scheduled.high")
        #expect(
            pairs(copy) == [
                "Protoqueue-Type: t", "Protoqueue-Task-Id: task-1", "Protoqueue-Prior-Attempts: 3",
                "Protoqueue-Not-Before: 7", "Nats-Msg-Id: retry:emails:44",
            ])
    }

    @Test func aDueRetryGoesToItsTiersReadySubjectKeepingItsIdAttemptsAndDueTime() {
        let scheduled: [(name: String, value: String)] = [
            ("Protoqueue-Type", "t"), ("Protoqueue-Task-Id", "task-1"), ("Protoqueue-Prior-Attempts", "2"),
            ("Protoqueue-Not-Before", "7"), ("Nats-Msg-Id", "retry:emails:42"),
        ]
        let copy = ScheduledCopy.due(
            of: scheduled, body: [9], scheduledSubject: "protoqueue.emails.scheduled.low", layout: layout,
            stream: "emails", sequence: 50)
        #expect(copy.subject == "protoqueue.emails.ready.low")
        #expect(copy.id == "due:emails:50")
        #expect(
            pairs(copy) == [
                "Protoqueue-Type: t", "Protoqueue-Task-Id: task-1", "Protoqueue-Prior-Attempts: 2",
                "Protoqueue-Not-Before: 7", "Nats-Msg-Id: due:emails:50",
            ])
    }

    @Test func aDueDelayedTaskCarriesItsOwnIdAsTheTaskId() {
        let delayed: [(name: String, value: String)] = [
            ("Nats-Msg-Id", "later-1"), ("Protoqueue-Type", "t"), ("Protoqueue-Not-Before", "9"),
        ]
        let copy = ScheduledCopy.due(
            of: delayed, body: [], scheduledSubject: "protoqueue.emails.scheduled.default", layout: layout,
            stream: "emails", sequence: 3)
        #expect(copy.subject == "protoqueue.emails.ready.default")
        #expect(
            pairs(copy) == [
                "Protoqueue-Type: t", "Protoqueue-Not-Before: 9", "Protoqueue-Task-Id: later-1",
                "Nats-Msg-Id: due:emails:3",
            ])
    }

    @Test func aTaskKeepsItsTierAndRouteAndASubjectWithoutOneGetsTheDefaultTier() {
        #expect(layout.route(of: "protoqueue.emails.ready.default") == "default")
        #expect(layout.route(of: "protoqueue.emails.scheduled.high") == "high")
        #expect(layout.route(of: "protoqueue.emails.ready.default.schedule.nightly") == "default.schedule.nightly")
        #expect(layout.route(of: "protoqueue.emails.ready.") == "default")
        #expect(layout.route(of: "protoqueue.emails.ready.a..b") == "default")
        #expect(layout.route(of: "elsewhere") == "default")
    }

    @Test func priorAttemptsAreADecimalCount() {
        #expect(ScheduledCopy.priorAttempts(nil) == 0)
        #expect(ScheduledCopy.priorAttempts("0") == 0)
        #expect(ScheduledCopy.priorAttempts("12") == 12)
        for bad in ["", "-1", "x", "1e3", "1234567890"] { #expect(ScheduledCopy.priorAttempts(bad) == nil) }
    }
}
