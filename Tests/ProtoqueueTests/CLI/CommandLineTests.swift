import Foundation
import NATSTestSupport
import TaskSchemas
import Testing

@testable import Protoqueue

/// The `protoqueue` executable against a real nats-server: every command's human and `--json` output on a queue with
/// queued and delayed tasks, a retried task and a dead letter, compared with golden files.
@Suite(
    "The protoqueue command",
    .enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
struct CommandLineTests {
    /// A queue with two ready tasks, one delayed an hour, and one task that failed twice into the dead letters.
    static func prepareQueue(url: String) async throws -> Queue<EmailTask> {
        let connection = try await connect(url)
        var configuration = QueueConfiguration(consumer: .init(ackWait: .seconds(5), maxDeliveries: 2))
        configuration.retry = .fixed(.milliseconds(100))
        let queue = try await Queue<EmailTask>(
            connection: connection, name: uniqueName("cli"), configuration: configuration, logger: testLogger())
        _ = try await queue.enqueue(EmailTask(to: "poison@example.com", subject: "fails"), options: .init(id: "poison"))
        try await withProcessor(queue) { _, _ in
            .failure("boom")
        } body: {
            #expect(await eventually { (try? await queue.stats().deadLetters) == 1 })
        }
        _ = try await queue.enqueue(
            EmailTask(to: "ada@example.com", subject: "Welcome", templateValues: ["name": "Ada"], priority: .high),
            options: .init(id: "welcome-ada", metadata: ["tenant": "acme"]))
        _ = try await queue.enqueue(
            EmailTask(to: "bob@example.com", cc: ["eve@example.com"]), options: .init(id: "welcome-bob"))
        _ = try await queue.enqueue(
            EmailTask(to: "later@example.com"), options: .delayed(by: .seconds(3600), id: "later"))
        return queue
    }

    @Test func everyCommandsHumanAndJSONOutput() async throws {
        let url = try await SharedServer.url()
        let queue = try await Self.prepareQueue(url: url)
        let name = queue.name
        func run(_ arguments: [String]) async throws -> CommandRunner.Output {
            try await CommandRunner.run(arguments + ["--server", url])
        }
        for (golden, arguments) in [
            ("stats.txt", ["stats", name]), ("stats.json", ["stats", name, "--json"]),
            ("peek.txt", ["peek", name]), ("peek.json", ["peek", name, "--json"]),
            ("peek-limit.txt", ["peek", name, "--limit", "1", "--from", "3"]),
            ("schema-list.txt", ["schema", "list", name]), ("schema-list.json", ["schema", "list", name, "--json"]),
            ("schema-drain.txt", ["schema", "drain", name]),
            ("schema-drain.json", ["schema", "drain", name, "--json"]),
        ] {
            let output = try await run(arguments)
            #expect(output.status == 0, "\(arguments): \(output.stderr)")
            CommandRunner.expectGolden(golden, CommandRunner.masked(output.stdout, queue: name))
        }

        // `queues` lists every queue of the shared server: the header and this queue's row.
        let queues = try await run(["queues"])
        #expect(queues.status == 0, "\(queues.stderr)")
        let lines = queues.stdout.split(separator: "\n").filter { $0.hasPrefix("QUEUE") || $0.hasPrefix(name) }
        // Column widths depend on the other queues' names: compare with single spaces.
        let rows = lines.map { $0.replacingOccurrences(of: #" {2,}"#, with: " | ", options: .regularExpression) }
        CommandRunner.expectGolden("queues.txt", CommandRunner.masked(rows.joined(separator: "\n") + "\n", queue: name))
        let listed = try await run(["queues", "--json"])
        let all = try JSONValue(parsing: listed.stdout)
        guard case .array(let entries) = all else {
            Issue.record("queues --json is not an array: \(listed.stdout)")
            return
        }
        let mine = try #require(entries.first { $0["queue"] == .string(name) })
        CommandRunner.expectGolden("queues.json", CommandRunner.masked(mine.text(pretty: true) + "\n", queue: name))
        await queue.connection.close()
    }

    @Test func pauseAndResumeOrTheVersionTheyNeed() async throws {
        let url = try await SharedServer.url()
        let queue = try await Self.prepareQueue(url: url)
        let level = try await queue.connection.transport.jetStreamAPILevel()
        let paused = try await CommandRunner.run(["pause", queue.name, "--server", url])
        if level >= 1 {
            #expect(paused.status == 0, "\(paused.stderr)")
            #expect(paused.stdout == "queue \(queue.name) paused: yes\n")
            #expect(try await queue.stats().isPaused)
            let resumed = try await CommandRunner.run(["resume", queue.name, "--server", url, "--json"])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(try await !queue.stats().isPaused)
            let timed = try await CommandRunner.run(["pause", queue.name, "--for", "60", "--server", url])
            #expect(timed.stdout.hasPrefix("queue \(queue.name) paused: until 20"), "\(timed.stdout)")
        } else {
            #expect(paused.status == 1)
            #expect(paused.stderr.contains("nats-server 2.11"), "\(paused.stderr)")
        }
        await queue.connection.close()
    }

    @Test func aBrokenQueueIsShownAsUnreadableWithoutHidingTheOthers() async throws {
        let url = try await SharedServer.url()
        let queue = try await Self.prepareQueue(url: url)
        let broken = try await Self.prepareQueue(url: url)
        try RawNATS(url: url).deleteConsumer(stream: broken.layout.streamName, consumer: broken.layout.consumerName)
        let listed = try await CommandRunner.run(["queues", "--server", url])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("\n\(queue.name) "), "\(listed.stdout)")
        #expect(listed.stdout.contains("unreadable: \(broken.name): read consumer"), "\(listed.stdout)")
        await queue.connection.close()
        await broken.connection.close()
    }

    @Test func failuresAreOneLineWithTheirExitCode() async throws {
        let url = try await SharedServer.url()
        let unknown = try await CommandRunner.run(["stats", "no_such_queue", "--server", url])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.hasPrefix("error: no queue \"no_such_queue\" on the server"), "\(unknown.stderr)")
        #expect(unknown.stderr.split(separator: "\n").count == 1)
        let unreachable = try await CommandRunner.run(["queues", "--server", "nats://127.0.0.1:1", "--timeout", "1"])
        #expect(unreachable.status == 4)
        #expect(unreachable.stderr.hasPrefix("error: could not connect to nats://127.0.0.1:1"), "\(unreachable.stderr)")
        let usage = try await CommandRunner.run(["peek"])
        #expect(usage.status == 64)
    }
}
