import NATSTestSupport
import Testing

@testable import Protoqueue

@Suite("Provisioning", .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct ProvisioningTests {
    @Test func reopeningWithTheSameConfigurationUsesTheExistingStream() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("reopen")
        var configuration = QueueConfiguration(maxAge: .seconds(3600), maxMessageSize: 4096)
        configuration.consumer = .init(
            ackWait: .seconds(10), maxDeliveries: 4, backoff: [.seconds(1), .seconds(5)], maxAckPending: 50)
        let first = try await Queue<InteropTask>(
            connection: connection, name: name, configuration: configuration, logger: testLogger())
        _ = try await first.enqueue(InteropTask(to: "kept"))
        let second = try await Queue<InteropTask>(
            connection: connection, name: name, configuration: configuration, logger: testLogger())
        #expect(try await second.stats().messages == 1)
        await connection.close()
    }

    @Test func incompatibleExistingStreamIsRefusedAndLeftUntouched() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("mismatch")
        let original = QueueConfiguration(maxAge: .seconds(7 * 24 * 3600))
        let queue = try await Queue<InteropTask>(
            connection: connection, name: name, configuration: original, logger: testLogger())
        for index in 0..<3 { _ = try await queue.enqueue(InteropTask(to: "keep\(index)")) }

        // What the TypeScript Protoqueue does on every connect (one-hour max age), plus other differences.
        let different = QueueConfiguration(retention: .limits, maxAge: .seconds(3600), duplicateWindow: .seconds(60))
        do {
            _ = try await Queue<InteropTask>(
                connection: connection, name: name, configuration: different, logger: testLogger())
            Issue.record("an incompatible stream was accepted")
        } catch {
            #expect(error.code == .configurationMismatch)
            #expect(error.message.contains("retention: existing workQueue, configured limits"))
            #expect(error.message.contains("maxAge: existing 604800.0 seconds, configured 3600.0 seconds"))
            #expect(error.message.contains("duplicateWindow"))
            #expect(error.message.contains("3 messages"))
        }
        let raw = try RawNATS(url: url)
        #expect(try raw.messageCount(stream: name) == 3)
        #expect(try raw.maxAge(stream: name) == Duration.seconds(7 * 24 * 3600).nanosecondsForTests)
        await connection.close()
    }

    /// A stream made before lifecycle events captures `<subject>.>`, events included: accepted while they are off,
    /// refused with the reason once they are on.
    @Test func aStreamCapturingTheWholePrefixIsAcceptedOnlyWithoutEvents() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("legacy")
        let raw = try RawNATS(url: url)
        try raw.createWorkQueueStream(name, subjects: ["protoqueue.\(name).>"])
        let queue = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        _ = try await queue.enqueue(InteropTask(to: "kept"))
        #expect(try await queue.stats().messages == 1)
        var withEvents = QueueConfiguration()
        withEvents.events = .enabled()
        do {
            _ = try await Queue<InteropTask>(
                connection: connection, name: name, configuration: withEvents, logger: testLogger())
            Issue.record("a stream that would store the events was accepted")
        } catch {
            #expect(error.code == .configurationMismatch)
            #expect(error.message.contains("subjects: existing [\"protoqueue.\(name).>\"]"), "\(error)")
            #expect(error.message.contains("would store the queue's lifecycle events"), "\(error)")
        }
        #expect(try raw.messageCount(stream: name) == 1)
        await connection.close()
    }

    @Test func incompatibleExistingConsumerIsRefused() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        let name = uniqueName("consumer")
        _ = try await Queue<InteropTask>(connection: connection, name: name, logger: testLogger())
        var configuration = QueueConfiguration()
        configuration.consumer.maxDeliveries = 9
        configuration.consumer.ackWait = .seconds(5)
        do {
            _ = try await Queue<InteropTask>(
                connection: connection, name: name, configuration: configuration, logger: testLogger())
            Issue.record("an incompatible consumer was accepted")
        } catch {
            #expect(error.code == .configurationMismatch)
            #expect(error.message.contains("maxDeliveries: existing 5, configured 9"))
            #expect(error.message.contains("ackWait"))
        }
        await connection.close()
    }

    @Test func invalidNamesFailBeforeTheNetwork() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        for (name, configuration) in [
            ("bad.name", QueueConfiguration()),
            ("ok", QueueConfiguration(streamName: "has space")),
            ("ok", QueueConfiguration(subject: "tasks..x")),
            ("ok", QueueConfiguration(subject: "tasks.*")),
            ("ok", QueueConfiguration(consumer: .init(durableName: "a.b"))),
        ] {
            do {
                _ = try await Queue<InteropTask>(
                    connection: connection, name: name, configuration: configuration, logger: testLogger())
                Issue.record("accepted \(name) \(configuration)")
            } catch {
                #expect(error.code == .invalidName, "\(error)")
            }
        }
        await connection.close()
    }
}

extension Duration {
    var nanosecondsForTests: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
