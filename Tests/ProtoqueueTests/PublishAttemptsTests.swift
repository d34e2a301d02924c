import CNats
import Logging
import Testing

@testable import Protoqueue

/// What follows each answer to a publish, for single enqueues, replays, dead-letter records and batches alike: every
/// row of ``PublishAttempts/next(after:events:)``, and the reading of an acknowledgement.
@Suite("Publish attempts")
struct PublishAttemptsTests {
    private let events = ConnectionEvents(logger: Logger(label: "test"), serverList: "nats://127.0.0.1:1")
    private let subject = "protoqueue.q.ready.default"

    /// nats.c initialises its library with its first connection; the acknowledgement tests make messages without one.
    init() { nats_Open(-1) }

    private func attempts(sent: Int, of maxAttempts: Int) -> PublishAttempts {
        var attempts = PublishAttempts(id: "task-1", subject: subject, maxAttempts: maxAttempts)
        for _ in 0..<sent { attempts.sending() }
        return attempts
    }

    /// The step after `event`, on a copy of `attempts`.
    private func step(
        _ attempts: PublishAttempts, after event: PublishEvent, now: UInt64 = MonotonicClock.nanoseconds()
    ) -> PublishAttempts.Step {
        var attempts = attempts
        return attempts.next(after: event, events: events, now: now)
    }

    private func failure(_ step: PublishAttempts.Step) -> ProtoqueueError? {
        guard case .failed(let error) = step else {
            Issue.record("expected a failure, got \(step)")
            return nil
        }
        return error
    }

    @Test func anAcknowledgementIsTheReceipt() {
        let result = step(attempts(sent: 1, of: 3), after: .acknowledged(stream: "Q", sequence: 42, duplicate: true))
        guard case .stored(let receipt) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(receipt == EnqueueReceipt(id: "task-1", sequence: 42, duplicate: true, stream: "Q"))
    }

    @Test func aTimeoutWithAttemptsLeftIsSentAgain() {
        let timeout = PublishEvent.failed(status: NATS_TIMEOUT, jsCode: 0, text: nil)
        guard case .resend = step(attempts(sent: 1, of: 3), after: timeout) else {
            Issue.record("first of three sends timed out: not resent")
            return
        }
        guard case .resend = step(attempts(sent: 2, of: 3), after: timeout) else {
            Issue.record("second of three sends timed out: not resent")
            return
        }
    }

    @Test func aTimeoutOnTheLastAttemptIsATimeoutNamingTheAttempts() {
        let result = step(attempts(sent: 3, of: 3), after: .failed(status: NATS_TIMEOUT, jsCode: 0, text: nil))
        guard let error = failure(result) else { return }
        #expect(error.code == .timeout)
        #expect(error.message.hasSuffix("after 3 attempts"), "\(error.message)")
    }

    @Test func aTimeoutExplainedByAViolationOnTheSubjectIsPermissionDenied() {
        let attempts = attempts(sent: 1, of: 3)
        let timeout = PublishEvent.failed(status: NATS_TIMEOUT, jsCode: 0, text: nil)
        events.announce(PermissionViolation(kind: .publish, subject: "protoqueue.q.ready.other", text: "other"))
        guard case .resend = step(attempts, after: timeout) else {
            Issue.record("a violation on another subject stopped the re-send")
            return
        }
        events.announce(PermissionViolation(kind: .publish, subject: subject, text: "denied"))
        guard let error = failure(step(attempts, after: timeout)) else { return }
        #expect(error.code == .permissionDenied)
        #expect(error.message.contains(subject), "\(error.message)")
    }

    @Test func aReportedViolationIsPermissionDenied() {
        let violation = PermissionViolation(kind: .publish, subject: subject, text: "denied")
        let error = failure(step(attempts(sent: 1, of: 3), after: .permissionDenied(violation)))
        #expect(error?.code == .permissionDenied)
    }

    @Test func aServerRefusalIsNotSentAgain() {
        // 10077: the store failed (a full stream with discard new), a refusal of this message.
        let refused = failure(
            step(attempts(sent: 1, of: 3), after: .failed(status: NATS_ERR, jsCode: 10077, text: "full")))
        #expect(refused?.code == .publishRejected)
        #expect(refused?.message.contains("task-1") == true, "\(String(describing: refused))")
        // 10071: wrong last sequence, a conditional write that lost.
        let lost = failure(
            step(
                attempts(sent: 1, of: 3),
                after: .failed(status: NATS_ERR, jsCode: 10071, text: "wrong last sequence: 4")))
        #expect(lost?.code == .conflict)
    }

    @Test func noStreamIsSentAgainAfterGrowingPausesUntilThePatienceIsUsed() {
        let noResponders = PublishEvent.failed(status: NATS_NO_RESPONDERS, jsCode: 0, text: nil)
        let ms: UInt64 = 1_000_000
        var attempts = PublishAttempts(
            id: "task-1", subject: subject, maxAttempts: 3, noStreamPatience: .milliseconds(1_000))
        attempts.sending()
        var now: UInt64 = 5_000 * ms
        var pauses: [UInt64] = []
        var result = attempts.next(after: noResponders, events: events, now: now)
        while case .resendAfter(let pause) = result {
            pauses.append(pause / ms)
            now += pause + ms  // the answer to the next send comes a millisecond after it
            attempts.sending()
            result = attempts.next(after: noResponders, events: events, now: now)
        }
        // 25 + 50 + 100 + 200 + 400 ms (and 5 ms of answers) leave 220 ms of the second: too little for another 400.
        #expect(pauses == [25, 50, 100, 200, 400])
        guard let error = failure(result) else { return }
        #expect(error.code == .noStreamForSubject)
        #expect(error.message.contains(subject), "\(error.message)")
        #expect(error.message.hasSuffix("in 6 sends over 780 ms"), "\(error.message)")
    }

    @Test func noStreamFailsAtOnceWithoutPatience() {
        var attempts = PublishAttempts(id: "task-1", subject: subject, maxAttempts: 3, noStreamPatience: .zero)
        attempts.sending()
        let error = failure(
            attempts.next(after: .failed(status: NATS_NO_RESPONDERS, jsCode: 0, text: nil), events: events))
        #expect(error?.code == .noStreamForSubject)
        #expect(error?.message.hasSuffix("(no responders)") == true, "\(String(describing: error))")
    }

    @Test(
        arguments: [
            // (answers, waited ms, patience ms, pause ms or nil)
            (0, 0, 2_000, nil), (1, 0, 2_000, 25), (2, 25, 2_000, 50), (3, 75, 2_000, 100), (4, 175, 2_000, 200),
            (5, 375, 2_000, 400), (9, 1_000, 2_000, 400), (1, 0, 0, nil), (1, 0, 24, nil), (1, 0, 25, 25),
            (6, 1_600, 2_000, 400), (6, 1_601, 2_000, nil),
        ] as [(Int, UInt64, UInt64, UInt64?)])
    func theNoStreamPauseTable(answers: Int, waited: UInt64, patience: UInt64, pause: UInt64?) {
        let ms: UInt64 = 1_000_000
        let got = PublishAttempts.noStreamPause(answers: answers, waited: waited * ms, patience: patience * ms)
        #expect(got.map { $0 / ms } == pause, "answers \(answers), waited \(waited) ms, patience \(patience) ms")
    }

    @Test func aClosingConnectionSaysWhetherTheTaskMayBeStored() {
        let unsent = attempts(sent: 0, of: 3).closedError(sent: false)
        #expect(unsent.code == .connectionClosed)
        #expect(unsent.message.hasSuffix("the task was not sent"), "\(unsent.message)")
        let pending = attempts(sent: 1, of: 3).closedError(sent: true)
        #expect(pending.code == .connectionClosed)
        #expect(pending.message.contains("may or may not be stored"), "\(pending.message)")
        #expect(pending.message.hasPrefix("publish task task-1 to \"\(subject)\""), "\(pending.message)")
    }

    private func acknowledgement(_ body: String) throws -> PublishEvent? {
        var pointer: OpaquePointer?
        let status = body.withCString { natsMsg_Create(&pointer, "_INBOX.x.1", nil, $0, Int32(body.utf8.count)) }
        let message = try #require(status == NATS_OK ? pointer : nil)
        defer { natsMsg_Destroy(message) }
        return PublishAttempts.event(ofAcknowledgement: message)
    }

    @Test func acknowledgementsAreReadAsEvents() throws {
        guard case .acknowledged("Q", 7, true)? = try acknowledgement(#"{"stream":"Q","seq":7,"duplicate":true}"#)
        else {
            Issue.record("stored acknowledgement misread")
            return
        }
        let refusal = #"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence"}}"#
        guard case .failed(NATS_ERR, 10071, "wrong last sequence")? = try acknowledgement(refusal)
        else {
            Issue.record("refusal misread")
            return
        }
        #expect(try acknowledgement("not json") == nil)
    }
}
