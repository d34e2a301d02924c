import Testing

@testable import Protoqueue

/// Every case of what the scheduled-task processor does with a delivery.
@Suite("Schedule decision")
struct ScheduleDecisionTests {
    @Test func aTaskNotYetDueGoesBackForTheTimeLeft() {
        #expect(ScheduleDecision.settlement(notBefore: "10000", now: 9000) == .nak(delay: .seconds(1)))
        #expect(ScheduleDecision.settlement(notBefore: "10000", now: 9999) == .nak(delay: .milliseconds(1)))
    }

    @Test func aDueTaskIsMovedToItsReadySubject() {
        #expect(ScheduleDecision.settlement(notBefore: "10000", now: 10000) == .promote)
        #expect(ScheduleDecision.settlement(notBefore: "10000", now: 99999) == .promote)
        #expect(ScheduleDecision.settlement(notBefore: "0", now: 1) == .promote)
    }

    @Test func aMissingDueTimeIsDeadLetteredNamingTheHeader() {
        #expect(
            ScheduleDecision.settlement(notBefore: nil, now: 1)
                == .deadLetter(
                    reason: .decode, error: "the scheduled task has no Protoqueue-Not-Before header", details: [:]))
    }

    @Test(arguments: ["", "soon", "-5", "+5", " 5", "1.5", "99999999999999999999"])
    func aMalformedDueTimeIsDeadLetteredQuotingIt(text: String) {
        #expect(
            ScheduleDecision.settlement(notBefore: text, now: 1)
                == .deadLetter(
                    reason: .decode, error: "Protoqueue-Not-Before \"\(text)\" is not a time in Unix milliseconds",
                    details: [:]))
    }
}
