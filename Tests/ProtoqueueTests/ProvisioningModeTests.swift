import Protoqueue
import TaskSchemas
import Testing

/// `Provisioning.verify` creates nothing and `.none` reads nothing.
@Suite(
    "Provisioning modes", .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct ProvisioningModeTests {
    @Test func verifyCreatesNothingAndNamesWhatIsMissing() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            let name = uniqueName("verify")
            do throws(ProtoqueueError) {
                _ = try await Queue<EmailTask>(
                    connection: connection, name: name, provisioning: .verify, logger: testLogger())
                Issue.record("verify accepted a missing stream")
            } catch {
                #expect(error.code == .streamNotFound)
                #expect(error.message.contains("stream \"\(name)\"") && error.message.contains("verify"), "\(error)")
            }
            _ = try await Queue<EmailTask>(connection: connection, name: name, logger: testLogger())
            let verified = try await Queue<EmailTask>(
                connection: connection, name: name, provisioning: .verify, logger: testLogger())
            #expect(try await verified.enqueue(EmailTask(to: "a@example.com")).sequence == 1)

            var other = QueueConfiguration()
            other.consumer.maxAckPending = 7
            do throws(ProtoqueueError) {
                _ = try await Queue<EmailTask>(
                    connection: connection, name: name, configuration: other, provisioning: .verify,
                    logger: testLogger())
                Issue.record("verify accepted a different consumer")
            } catch {
                #expect(error.code == .configurationMismatch && error.message.contains("maxAckPending"), "\(error)")
            }
        }
    }

    @Test func noneReadsNothingSoAMissingStreamShowsOnEnqueue() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            let name = uniqueName("none")
            let queue = try await Queue<EmailTask>(
                connection: connection, name: name, provisioning: .none, logger: testLogger())
            do throws(ProtoqueueError) {
                _ = try await queue.enqueue(EmailTask(to: "a@example.com"))
                Issue.record("enqueue without a stream succeeded")
            } catch {
                #expect(error.code == .noStreamForSubject, "\(error)")
            }
            do throws(ProtoqueueError) {
                _ = try await queue.stats()
                Issue.record("stats found a stream none created")
            } catch {
                #expect(error.code == .streamNotFound, "\(error)")
            }
        }
    }

    @Test func anInvalidConfigurationIsRefusedInEveryMode() async throws {
        try await withConnection(try await SharedServer.url()) { connection in
            for provisioning in [Provisioning.createOrVerify, .verify, .none] {
                do throws(ProtoqueueError) {
                    _ = try await Queue<EmailTask>(
                        connection: connection, name: uniqueName("bad"), configuration: .init(replicas: 2),
                        provisioning: provisioning, logger: testLogger())
                    Issue.record("\(provisioning) accepted replicas 2")
                } catch {
                    #expect(error.code == .invalidConfiguration, "\(provisioning): \(error)")
                }
            }
        }
    }
}
