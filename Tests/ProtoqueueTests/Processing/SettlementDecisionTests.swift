import Testing

@testable import Protoqueue

/// Every row of `docs/processing.md`'s outcome table, at a first, a middle, the last and a grace attempt, with
/// limited and unlimited attempts.
@Suite("Settlement decision")
struct SettlementDecisionTests {
    /// The policy's delay is `attempt` seconds, so a test sees which attempt it was asked for.
    private func decide(
        _ outcome: TaskOutcome, attempt: Int, maxAttempts: Int? = 3, reschedules: Bool = false
    ) -> Settlement {
        SettlementDecision.settlement(
            for: outcome, attempt: attempt, maxAttempts: maxAttempts, reschedules: reschedules,
            retryDelay: { .seconds($0) }
        )
    }

    private struct Down: Error {}

    @Test func aRetryLongerThanASecondIsRescheduledWhenTheWorkerCan() {
        let long = Duration.milliseconds(1001)
        #expect(decide(.returned(.retry(after: long)), attempt: 1, reschedules: true) == .reschedule(delay: long))
        #expect(decide(.threw(Down()), attempt: 2, reschedules: true) == .reschedule(delay: .seconds(2)))
        #expect(
            decide(.returned(.retry), attempt: 5, maxAttempts: nil, reschedules: true)
                == .reschedule(delay: .seconds(5)))
        // Without the scheduled-task consumer it waits in place.
        #expect(decide(.returned(.retry(after: long)), attempt: 1) == .nak(delay: long))
    }

    @Test func aRetryOfAtMostASecondWaitsInPlace() {
        for delay in [Duration.zero, .milliseconds(250), .seconds(1)] {
            #expect(decide(.returned(.retry(after: delay)), attempt: 1, reschedules: true) == .nak(delay: delay))
        }
        #expect(decide(.threw(Down()), attempt: 1, reschedules: true) == .nak(delay: .seconds(1)))
    }

    @Test func cancellationAndTheLastAttemptAreNeverRescheduled() {
        #expect(decide(.cancelled, attempt: 1, reschedules: true) == .nak(delay: .zero))
        #expect(
            decide(.returned(.retry(after: .seconds(9))), attempt: 3, reschedules: true)
                == .deadLetter(
                    reason: .retriesExhausted, error: "the handler asked for a retry on attempt 3 of 3", details: [:]))
    }

    @Test(arguments: [1, 2, 3])
    func successIsAnAckOnEveryAttempt(attempt: Int) {
        #expect(decide(.returned(.success), attempt: attempt) == .ack)
        #expect(decide(.returned(.success), attempt: attempt, maxAttempts: nil) == .ack)
    }

    @Test func retryWithADelayNaksWithThatDelayBeforeTheLastAttempt() {
        #expect(decide(.returned(.retry(after: .milliseconds(250))), attempt: 1) == .nak(delay: .milliseconds(250)))
        #expect(decide(.returned(.retry(after: .zero)), attempt: 2) == .nak(delay: .zero))
    }

    @Test func retryWithoutADelayUsesThePolicyForThisAttempt() {
        #expect(decide(.returned(.retry), attempt: 1) == .nak(delay: .seconds(1)))
        #expect(decide(.returned(.retry), attempt: 2) == .nak(delay: .seconds(2)))
    }

    @Test func retryOnTheLastAttemptIsDeadLetteredAsRetriesExhausted() {
        for outcome in [TaskOutcome.returned(.retry), .returned(.retry(after: .seconds(9)))] {
            #expect(
                decide(outcome, attempt: 3)
                    == .deadLetter(
                        reason: .retriesExhausted, error: "the handler asked for a retry on attempt 3 of 3",
                        details: [:]
                    )
            )
        }
    }

    @Test func aTimeoutRetriesUnderThePolicyThenDeadLettersWithReasonTimeout() {
        let timedOut = TaskOutcome.timedOut(TaskTimedOut(timeout: .milliseconds(250)))
        #expect(decide(timedOut, attempt: 1) == .nak(delay: .seconds(1)))
        #expect(decide(timedOut, attempt: 2, reschedules: true) == .reschedule(delay: .seconds(2)))
        #expect(
            decide(timedOut, attempt: 3)
                == .deadLetter(
                    reason: .timeout, error: "the handler did not finish within its timeout of 0.25 seconds",
                    details: [:]))
        #expect(decide(timedOut, attempt: 50, maxAttempts: nil) == .nak(delay: .seconds(50)))
        if case .deadLetter(.maxDeliveries, _, _) = decide(timedOut, attempt: 4) {} else { Issue.record("grace") }
    }

    @Test func retryWithUnlimitedAttemptsNeverDeadLetters() {
        #expect(decide(.returned(.retry), attempt: 1000, maxAttempts: nil) == .nak(delay: .seconds(1000)))
    }

    @Test(arguments: [1, 3])
    func failureIsDeadLetteredWithItsErrorAndDetailsAtOnce(attempt: Int) {
        let outcome = TaskOutcome.returned(.failure("unknown template", details: ["template": "t-9"]))
        let expected = Settlement.deadLetter(reason: .failed, error: "unknown template", details: ["template": "t-9"])
        #expect(decide(outcome, attempt: attempt) == expected)
        #expect(decide(outcome, attempt: attempt, maxAttempts: nil) == expected)
    }

    @Test(arguments: [1, 3])
    func aDiscardIsTerminatedWithoutARecordOnAnyAttempt(attempt: Int) {
        let outcome = TaskOutcome.returned(.discard(reason: "order cancelled"))
        #expect(decide(outcome, attempt: attempt) == .discard(reason: "order cancelled"))
        #expect(decide(outcome, attempt: attempt, maxAttempts: nil) == .discard(reason: "order cancelled"))
    }

    @Test func aFailureKeepsTheDescriptionOfAnyError() {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused by policy" } }
        #expect(
            decide(.returned(.failure(Refused())), attempt: 1)
                == .deadLetter(reason: .failed, error: "refused by policy", details: [:]))
        #expect(
            decide(.threw(Refused()), attempt: 3)
                == .deadLetter(reason: .retriesExhausted, error: "refused by policy", details: [:]))
    }

    @Test func aThrownErrorNaksWithThePolicyDelayBeforeTheLastAttempt() {
        #expect(decide(.threw(TaskFailure("smtp down")), attempt: 1) == .nak(delay: .seconds(1)))
        #expect(decide(.threw(TaskFailure("smtp down")), attempt: 2) == .nak(delay: .seconds(2)))
        #expect(decide(.threw(TaskFailure("smtp down")), attempt: 50, maxAttempts: nil) == .nak(delay: .seconds(50)))
    }

    @Test func aThrownErrorOnTheLastAttemptIsDeadLetteredWithItsText() {
        #expect(
            decide(.threw(TaskFailure("smtp down")), attempt: 3)
                == .deadLetter(reason: .retriesExhausted, error: "smtp down", details: [:])
        )
    }

    @Test(arguments: [1, 3])
    func aThrowAfterCancellationReturnsTheTaskWithoutDelay(attempt: Int) {
        #expect(decide(.cancelled, attempt: attempt) == .nak(delay: .zero))
        #expect(decide(.cancelled, attempt: attempt, maxAttempts: nil) == .nak(delay: .zero))
    }

    @Test(arguments: [1, 3])
    func anUndecodablePayloadIsDeadLetteredOnAnyAttempt(attempt: Int) {
        let expected = Settlement.deadLetter(reason: .decode, error: "truncated varint", details: [:])
        #expect(decide(.undecodable("truncated varint"), attempt: attempt) == expected)
        #expect(decide(.undecodable("truncated varint"), attempt: attempt, maxAttempts: nil) == expected)
    }

    @Test func anExpiredTaskIsDeadLetteredAsExpired() {
        let expected = Settlement.deadLetter(reason: .expired, error: "too late", details: [:])
        #expect(decide(.expired("too late"), attempt: 1) == expected)
        #expect(decide(.expired("too late"), attempt: 1, maxAttempts: nil) == expected)
    }

    @Test func aGraceDeliveryIsDeadLetteredAsMaxDeliveriesWhateverTheOutcome() {
        let expected = Settlement.deadLetter(
            reason: .maxDeliveries,
            error: "delivered 4 times, more than the 3 attempts allowed, without being settled "
                + "(ack wait expired or worker crashed)",
            details: [:]
        )
        let outcomes: [TaskOutcome] = [
            .returned(.success), .returned(.retry), .returned(.failure("x")), .returned(.discard(reason: "x")),
            .threw(TaskFailure("x")), .cancelled, .undecodable("x"),
        ]
        for outcome in outcomes { #expect(decide(outcome, attempt: 4) == expected) }
        #expect(SettlementDecision.graceDelivery(attempt: 4, maxAttempts: 3) == expected)
    }

    @Test func graceDeliveriesArePastTheAttemptsAllowedOnly() {
        #expect(!SettlementDecision.isGraceDelivery(attempt: 3, maxAttempts: 3))
        #expect(SettlementDecision.isGraceDelivery(attempt: 4, maxAttempts: 3))
        #expect(SettlementDecision.isGraceDelivery(attempt: 5, maxAttempts: 3))
        #expect(!SettlementDecision.isGraceDelivery(attempt: 10_000, maxAttempts: nil))
    }

    @Test func oneAttemptAllowedMakesTheFirstTheLast() {
        #expect(
            decide(.threw(TaskFailure("e")), attempt: 1, maxAttempts: 1)
                == .deadLetter(reason: .retriesExhausted, error: "e", details: [:]))
        #expect(decide(.returned(.success), attempt: 1, maxAttempts: 1) == .ack)
    }

    @Test func settlementNamesAreTheMetricNames() {
        #expect(Settlement.ack.name == "ack")
        #expect(Settlement.nak(delay: .zero).name == "nak")
        #expect(Settlement.reschedule(delay: .seconds(2)).name == "reschedule")
        #expect(Settlement.promote.name == "promote")
        #expect(Settlement.deadLetter(reason: .failed, error: "", details: [:]).name == "dlq")
    }
}
