import TaskSchemas
import Testing

@testable import Protoqueue

@Suite(
    "Generated message types on a queue",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct GeneratedTypeTests {
    @Test func peekingASequenceWithoutAMessageIsStreamNotFoundEveryTime() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let queue = try await Queue<EmailTask>(connection: connection, name: uniqueName("peek"), logger: testLogger())
        let receipt = try await queue.enqueue(EmailTask(to: "ada@example.com", subject: "x"))
        var found = 0
        for sequence in receipt.sequence...(receipt.sequence + 200) {
            if (try? await queue.peek(sequence: sequence)) != nil { found += 1 }
        }
        #expect(found == 1)
        await #expect(throws: ProtoqueueError.self) { _ = try await queue.peek(sequence: receipt.sequence + 1) }
        do {
            _ = try await queue.peek(sequence: receipt.sequence + 7)
        } catch {
            #expect(error.code == .streamNotFound, "\(error)")
        }
        await connection.close()
    }

    @Test func emailTaskRoundTripsThroughTheStream() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let queue = try await Queue<EmailTask>(connection: connection, name: uniqueName("email"), logger: testLogger())
        let task = EmailTask(
            to: "ada@example.com",
            subject: "Invoice",
            templateID: "invoice-v2",
            templateValues: ["amount": "42.00 EUR"],
            cc: ["bob@example.com"],
            priority: .high,
            requester: Requester(accountID: "acct_1", service: "billing")
        )
        let receipt = try await queue.enqueue(task, options: .init(id: "invoice-1", metadata: ["tenant": "acme"]))
        let stored = try await queue.peek(sequence: receipt.sequence)
        #expect(stored.task == task)
        #expect(stored.id == "invoice-1")
        #expect(stored.metadata == ["tenant": "acme"])

        // Opening the queue as another type is refused (the registered schema says EmailTask)...
        await #expect(throws: ProtoqueueError.self) {
            _ = try await Queue<ImageResizeTask>(connection: connection, name: queue.name, logger: testLogger())
        }
        // ...and a queue of another type opened without provisioning refuses to decode it.
        let wrongType = try await Queue<ImageResizeTask>(
            connection: connection, name: queue.name, provisioning: .none, logger: testLogger())
        do {
            _ = try await wrongType.peek(sequence: receipt.sequence)
            Issue.record("decoded an EmailTask as ImageResizeTask")
        } catch {
            #expect(error.code == .decodingFailed)
            #expect(error.message.contains("protoqueue.examples.EmailTask"))
        }
        await connection.close()
    }
}
