import CNats
import Logging
import Testing

@testable import Protoqueue

/// What follows each answer to a publish, for single enqueues, replays and dead-letter records alike: every row of
/// ``PublishAttempts/next(after:events:)``.
@Suite("Publish attempts")
struct PublishAttemptsTests {
    private let prepared = PreparedMessage(
        subject: "protoqueue.q.ready.default", headers: [("Nats-Msg-Id", "task-1")], body: [1, 2, 3], id: "task-1"
    )
    private let events = ConnectionEvents(logger: Logger(label: "test"), serverList: "nats://127.0.0.1:1")

    /// nats.c initialises its library with its first connection; these tests make messages without one.
    init() { nats_Open(-1) }

    private func attempts(sent: Int, of maxAttempts: Int) -> PublishAttempts {
        var attempts = PublishAttempts(prepared, maxAttempts: maxAttempts)
        for _ in 0..<sent { attempts.sending() }
        return attempts
    }

    private func failed(_ status: natsStatus, jsCode: Int = 0) throws -> PublishEvent {
        .failed(status: status, jsCode: jsCode, text: nil, message: try prepared.makeMessage())
    }

    @Test func anAcknowledgementIsTheReceipt() {
        let step = attempts(sent: 1, of: 3).next(
            after: .acknowledged(stream: "Q", sequence: 42, duplicate: true), events: events)
        guard case .stored(let receipt) = step else {
            Issue.record("\(step)")
            return
        }
        #expect(receipt == EnqueueReceipt(id: "task-1", sequence: 42, duplicate: true, stream: "Q"))
    }

    @Test func aTimeoutWithAttemptsLeftSendsTheSameMessageAgain() throws {
        let event = try failed(NATS_TIMEOUT)
        guard case .failed(_, _, _, let sent) = event else { return }
        let step = attempts(sent: 2, of: 3).next(after: event, events: events)
        guard case .resend(let again) = step else {
            Issue.record("\(step)")
            return
        }
        #expect(again.pointer == sent.pointer)
        again.destroy()
    }

    @Test func aTimeoutOnTheLastAttemptIsATimeoutNamingTheAttempts() throws {
        let step = attempts(sent: 3, of: 3).next(after: try failed(NATS_TIMEOUT), events: events)
        guard case .failed(let error) = step else {
            Issue.record("\(step)")
            return
        }
        #expect(error.code == .timeout)
        #expect(error.message.hasSuffix("after 3 attempts"), "\(error.message)")
    }

    @Test func aTimeoutExplainedByAViolationOnTheSubjectIsPermissionDenied() throws {
        let attempts = attempts(sent: 1, of: 3)
        events.announce(PermissionViolation(kind: .publish, subject: "protoqueue.q.ready.other", text: "other"))
        let unrelated = attempts.next(after: try failed(NATS_TIMEOUT), events: events)
        guard case .resend(let again) = unrelated else {
            Issue.record("\(unrelated)")
            return
        }
        again.destroy()
        events.announce(PermissionViolation(kind: .publish, subject: prepared.subject, text: "denied"))
        let step = attempts.next(after: try failed(NATS_TIMEOUT), events: events)
        guard case .failed(let error) = step else {
            Issue.record("\(step)")
            return
        }
        #expect(error.code == .permissionDenied)
        #expect(error.message.contains(prepared.subject), "\(error.message)")
    }

    @Test func aReportedViolationIsPermissionDenied() {
        let violation = PermissionViolation(kind: .publish, subject: prepared.subject, text: "denied")
        let step = attempts(sent: 1, of: 3).next(after: .permissionDenied(violation), events: events)
        guard case .failed(let error) = step else {
            Issue.record("\(step)")
            return
        }
        #expect(error.code == .permissionDenied)
    }

    @Test func aServerErrorIsNotResent() throws {
        // 10071: wrong last sequence, a refusal of this message.
        let refused = attempts(sent: 1, of: 3).next(after: try failed(NATS_ERR, jsCode: 10071), events: events)
        guard case .failed(let error) = refused else {
            Issue.record("\(refused)")
            return
        }
        #expect(error.code == .publishRejected)
        #expect(error.message.contains("task-1"), "\(error.message)")
        let noStream = attempts(sent: 1, of: 3).next(after: try failed(NATS_NO_RESPONDERS), events: events)
        guard case .failed(let missing) = noStream else {
            Issue.record("\(noStream)")
            return
        }
        #expect(missing.code == .noStreamForSubject)
    }
}
