import Testing

@testable import Protoqueue

/// Every case of what the scheduled-task processor does with a delivery.
@Suite("Schedule decision")
struct ScheduleDecisionTests {
    @Test func aTaskDueLaterGoesBackToTheServerUntilShortlyBefore() {
        #expect(ScheduleDecision.step(notBefore: "10000", now: 9000) == .settle(.nak(delay: .milliseconds(800))))
        #expect(ScheduleDecision.step(notBefore: "10000", now: 9749) == .settle(.nak(delay: .milliseconds(51))))
    }

    @Test func aTaskDueWithinTheHoldWindowWaitsInTheProcessor() {
        #expect(ScheduleDecision.step(notBefore: "10000", now: 9750) == .hold(.milliseconds(250)))
        #expect(ScheduleDecision.step(notBefore: "10000", now: 9999) == .hold(.milliseconds(1)))
    }

    @Test func aDueTaskIsMovedToItsReadySubject() {
        #expect(ScheduleDecision.step(notBefore: "10000", now: 10000) == .settle(.promote))
        #expect(ScheduleDecision.step(notBefore: "10000", now: 99999) == .settle(.promote))
        #expect(ScheduleDecision.step(notBefore: "0", now: 1) == .settle(.promote))
    }

    @Test func aMissingDueTimeIsDeadLetteredNamingTheHeader() {
        #expect(
            ScheduleDecision.step(notBefore: nil, now: 1)
                == .settle(
                    .deadLetter(
                        reason: .decode, error: "the scheduled task has no Protoqueue-Not-Before header", details: [:]))
        )
    }

    @Test(arguments: ["", "soon", "-5", "+5", " 5", "1.5", "99999999999999999999"])
    func aMalformedDueTimeIsDeadLetteredQuotingIt(text: String) {
        #expect(
            ScheduleDecision.step(notBefore: text, now: 1)
                == .settle(
                    .deadLetter(
                        reason: .decode, error: "Protoqueue-Not-Before \"\(text)\" is not a time in Unix milliseconds",
                        details: [:])))
    }
}
