import CNats
import Testing

@testable import Protoqueue

/// Which permission violation explains a timed-out operation: one rule for every caller (connection calls,
/// provisioning, single and batch publishes).
@Suite("Permission violation matching")
struct PermissionViolationTests {
    private func violation(_ subject: String?) -> PermissionViolation {
        PermissionViolation(kind: .publish, subject: subject, text: "Permissions Violation for Publish")
    }

    @Test func anAPIRequestIsExplainedByAViolationOnTheAPIOrOneWithoutASubject() {
        #expect(violation("$JS.API.STREAM.INFO.Q").explains(.jetStreamAPI))
        #expect(violation(nil).explains(.jetStreamAPI))
        #expect(!violation("protoqueue.q.ready.default").explains(.jetStreamAPI))
        #expect(!violation("$JS.APIX").explains(.jetStreamAPI))
    }

    @Test func aPublishIsExplainedOnlyByAViolationOnItsSubject() {
        #expect(violation("protoqueue.q.ready.default").explains(.publish("protoqueue.q.ready.default")))
        #expect(!violation("protoqueue.q.ready.other").explains(.publish("protoqueue.q.ready.default")))
        #expect(!violation(nil).explains(.publish("protoqueue.q.ready.default")))
        #expect(!violation("$JS.API.STREAM.INFO.Q").explains(.publish("protoqueue.q.ready.default")))
    }

    @Test func aMappedErrorNamesItsOperationAsAField() {
        let timeout = NATSErrorMapping.error(status: NATS_TIMEOUT, operation: "read stream \"Q\"")
        #expect(timeout.code == .timeout)
        #expect(timeout.operation == "read stream \"Q\"")
        let denied = NATSErrorMapping.permissionDenied(
            operation: timeout.operation ?? "", violation: violation("$JS.API.STREAM.INFO.Q")
        )
        #expect(denied.code == .permissionDenied)
        #expect(denied.message.hasPrefix("read stream \"Q\""), "\(denied.message)")
    }
}
