import Foundation
import NATSServerHarness
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
    static func prepareQueue(url: String, events: EventConfiguration = .disabled) async throws -> Queue<EmailTask> {
        let connection = try await connect(url)
        var configuration = QueueConfiguration(consumer: .init(ackWait: .seconds(5), maxDeliveries: 2))
        configuration.retry = .fixed(.milliseconds(100))
        configuration.events = events
        let queue = try await Queue<EmailTask>(
            connection: connection, name: uniqueName("cli"), configuration: configuration, logger: testLogger())
        _ = try await queue.enqueue(EmailTask(to: "poison@example.com", subject: "fails"), options: .init(id: "poison"))
        // A thrown error is retried under the policy: two attempts, then the dead letters.
        try await withProcessor(queue) { _, _ in
            throw HandlerFailure(description: "boom")
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
        _ = try await queue.declareSchedule(
            TaskSchedule(name: "hourly-digest", timing: .every(.seconds(3600))),
            task: EmailTask(to: "digest@example.com", subject: "Digest"), metadata: ["kind": "digest"])
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
            ("dead-letters-list.txt", ["dead-letters", "list", name]),
            ("dead-letters-list.json", ["dead-letters", "list", name, "--json"]),
            ("dead-letters-show.txt", ["dead-letters", "show", name, "1"]),
            ("dead-letters-show.json", ["dead-letters", "show", name, "1", "--json"]),
            ("schedules.txt", ["schedules", name]), ("schedules.json", ["schedules", name, "--json"]),
        ] {
            let output = try await run(arguments)
            #expect(output.status == 0, "\(arguments): \(output.stderr)")
            CommandRunner.expectGolden(golden, CommandRunner.masked(output.stdout, queue: name))
        }

        // A replay, then a purge of what is left (nothing).
        for (golden, arguments) in [
            ("dead-letters-replay.txt", ["dead-letters", "replay", name, "1"]),
            ("dead-letters-purge.json", ["dead-letters", "purge", name, "--yes", "--json"]),
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

    @Test func enqueueFromJSONThroughTheRegistryAndRefuseWhatTheSchemaDoesNot() async throws {
        let url = try await SharedServer.url()
        let queue = try await Self.prepareQueue(url: url)
        let task = #"{"to": "carol@example.com", "priority": "PRIORITY_LOW", "notBeforeUnix": "42"}"#
        let enqueued = try await CommandRunner.run([
            "enqueue", queue.name, task, "--id", "from-cli", "--meta", "origin=cli", "--server", url,
        ])
        #expect(enqueued.status == 0, "\(enqueued.stderr)")
        CommandRunner.expectGolden("enqueue.txt", CommandRunner.masked(enqueued.stdout, queue: queue.name))
        let digits = enqueued.stdout.split(separator: "#").last?.trimmingCharacters(in: .whitespacesAndNewlines)
        let stored = try await queue.peek(sequence: try #require(digits.flatMap { UInt64($0) }))
        #expect(stored.task == EmailTask(to: "carol@example.com", priority: .low, notBeforeUnix: 42))
        #expect(stored.id == "from-cli")
        #expect(stored.metadata == ["origin": "cli"])

        let second = try await CommandRunner.run(
            ["enqueue", queue.name, "--id", "from-stdin", "--delay", "60", "--json", "--server", url],
            input: #"{"to": "dave@example.com", "requester": {"accountId": "acct_9"}}"#)
        #expect(second.status == 0, "\(second.stderr)")
        CommandRunner.expectGolden("enqueue.json", CommandRunner.masked(second.stdout, queue: queue.name))

        let wrong = try await CommandRunner.run(["enqueue", queue.name, #"{"recipient": "x"}"#, "--server", url])
        #expect(wrong.status == 1)
        let refusal = "message protoqueue.examples.EmailTask has no field \"recipient\""
        #expect(wrong.stderr == "error: protoqueue.examples.EmailTask: \(refusal)\n")
        await queue.connection.close()
    }

    @Test func uniqueKeysTakenByTheCommandAndByTheLibraryHoldAgainstEachOther() async throws {
        let url = try await SharedServer.url()
        let queue = try await Self.prepareQueue(url: url)
        let held = try await queue.enqueue(
            EmailTask(to: "u@example.com"), options: .init(id: "unique-lib", unique: Uniqueness(key: "user-7")))
        let task = #"{"to": "u@example.com"}"#
        let second = try await CommandRunner.run([
            "enqueue", queue.name, task, "--unique-key", "user-7", "--server", url,
        ])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(
            second.stdout == "not enqueued: unique key \"user-7\" is taken by task unique-lib at #\(held.sequence)\n")
        let failing = try await CommandRunner.run([
            "enqueue", queue.name, task, "--unique-key", "user-7", "--fail-if-duplicate", "--server", url,
        ])
        #expect(failing.status == 1)
        #expect(failing.stderr.contains("unique key \"user-7\" is taken by task unique-lib"), "\(failing.stderr)")

        let taken = try await CommandRunner.run([
            "enqueue", queue.name, task, "--id", "unique-cli", "--unique-key", "user-8", "--unique-scope",
            "until-started", "--json", "--server", url,
        ])
        #expect(taken.status == 0, "\(taken.stderr)")
        #expect(try JSONValue(parsing: taken.stdout)["duplicate"] == .bool(false))
        let again = try await queue.enqueue(
            EmailTask(to: "v@example.com"), options: .init(unique: Uniqueness(key: "user-8", scope: .untilStarted)))
        #expect(again.duplicate && again.id == "unique-cli")

        let badScope = try await CommandRunner.run([
            "enqueue", queue.name, task, "--unique-key", "k", "--unique-scope", "forever", "--server", url,
        ])
        #expect(badScope.status != 0 && badScope.stderr.contains("--unique-scope forever"), "\(badScope.stderr)")
        let noKey = try await CommandRunner.run(["enqueue", queue.name, task, "--fail-if-duplicate", "--server", url])
        #expect(noKey.status != 0 && noKey.stderr.contains("need --unique-key"), "\(noKey.stderr)")
        await queue.connection.close()
    }

    @Test func replayThroughTheCommandLeavesWhatTheLibrarysReplayLeaves() async throws {
        let url = try await SharedServer.url()
        let viaLibrary = try await Self.prepareQueue(url: url)
        let viaCommand = try await Self.prepareQueue(url: url)
        let receipt = try await viaLibrary.replayDeadLetter(sequence: 1)
        let replayed = try await CommandRunner.run([
            "dead-letters", "replay", viaCommand.name, "1", "--server", url, "--json",
        ])
        #expect(replayed.status == 0, "\(replayed.stderr)")
        let report = try JSONValue(parsing: replayed.stdout)
        #expect(report["replayed"] == .number("1"))
        guard case .array(let tasks) = report["tasks"], case .number(let sequence) = tasks.first?["sequence"] else {
            Issue.record("no replayed task in \(replayed.stdout)")
            return
        }
        #expect(sequence == "\(receipt.sequence)")
        let library = try await viaLibrary.stats()
        let command = try await viaCommand.stats()
        #expect(
            [library.messages, library.pending, library.deadLetters, library.scheduled]
                == [command.messages, command.pending, command.deadLetters, command.scheduled])
        func headers(_ queue: Queue<EmailTask>) async throws -> [String: String] {
            let stored = try #require(
                try await queue.connection.transport.message(
                    stream: queue.layout.streamName, sequence: receipt.sequence, operation: "test"))
            return stored.firstHeaderValues.mapValues { CommandRunner.masked($0, queue: queue.name) }
                .filter { $0.key != "Protoqueue-Enqueued-At" }
        }
        #expect(try await headers(viaLibrary) == headers(viaCommand))

        // Nothing is left to replay; purging asks for confirmation.
        let all = try await CommandRunner.run(["dead-letters", "replay", viaCommand.name, "--all", "--server", url])
        #expect(all.status == 0 && all.stdout.hasSuffix("replayed 0 task(s)\n"), "\(all.stdout)\(all.stderr)")
        let unconfirmed = try await CommandRunner.run(["dead-letters", "purge", viaCommand.name, "--server", url])
        #expect(unconfirmed.status == 64)
        let purged = try await CommandRunner.run(["dead-letters", "purge", viaLibrary.name, "--yes", "--server", url])
        #expect(purged.stdout == "purged 0 record(s)\n", "\(purged.stderr)")
        await viaLibrary.connection.close()
        await viaCommand.connection.close()
    }

    @Test func tailFollowsLifecycleEventsLive() async throws {
        let url = try await SharedServer.url()
        let connection = try await connect(url)
        var configuration = QueueConfiguration()
        configuration.events = .enabled()
        let queue = try await Queue<EmailTask>(
            connection: connection, name: uniqueName("tail"), configuration: configuration, logger: testLogger())
        // Two followers: one printing lines for people, one JSON.
        var followers: [(process: Process, stdout: Pipe)] = []
        for format in [[], ["--json"]] {
            let tail = Process()
            tail.executableURL = URL(fileURLWithPath: CommandRunner.executable)
            tail.arguments = ["tail", queue.name, "--count", "3", "--server", url] + format
            let (stdout, stderr) = (Pipe(), Pipe())
            tail.standardOutput = stdout
            tail.standardError = stderr
            try tail.run()
            CommandRunner.terminate(tail, after: 60)
            // It says when it is subscribed.
            let ready = try await offCooperativePool { stderr.fileHandleForReading.availableData }
            #expect(String(decoding: ready, as: UTF8.self).hasPrefix("following protoqueue.\(queue.name).events.>"))
            followers.append((tail, stdout))
        }
        _ = try await queue.enqueue(EmailTask(to: "ada@example.com"), options: .init(id: "tailed"))
        try await withProcessor(queue) { _, _ in
            .success
        } body: {
            #expect(await eventually { (try? await queue.stats().messages) == 0 })
        }
        var outputs: [String] = []
        for (tail, stdout) in followers {
            let output = try await offCooperativePool { stdout.fileHandleForReading.readDataToEndOfFile() }
            tail.waitUntilExit()
            #expect(tail.terminationStatus == 0)
            outputs.append(String(decoding: output, as: UTF8.self))
        }
        let lines = CommandRunner.masked(outputs[0], queue: queue.name)
            .replacingOccurrences(of: #"\d+ µs|\d+ us"#, with: "<run time>", options: .regularExpression)
        CommandRunner.expectGolden("tail.txt", lines)
        let kinds = try outputs[1].split(separator: "\n").map { try JSONValue(parsing: String($0))["kind"] }
        #expect(kinds == [.string("KIND_ENQUEUED"), .string("KIND_STARTED"), .string("KIND_SUCCEEDED")])
        await connection.close()
    }

    /// `dead-letters replay`, `pause` and `resume` publish the events the library's calls publish when the queue's
    /// policy record says that its events are on.
    @Test func operatorCommandsPublishTheirEventsOnAQueueWithEventsOn() async throws {
        let url = try await SharedServer.url()
        let queue = try await Self.prepareQueue(url: url, events: .enabled())
        let collected = Recorder<TaskEvent>()
        let events = try await queue.events(kinds: [.replayed, .paused, .resumed])
        let reader = Task { for await event in events { collected.record(event) } }
        let replayed = try await CommandRunner.run(["dead-letters", "replay", queue.name, "1", "--server", url])
        #expect(replayed.status == 0, "\(replayed.stderr)")
        #expect(await eventually { collected.count == 1 })
        let replay = try #require(collected.all.first)
        #expect(replay.kind == .replayed && replay.taskID == "poison" && replay.sequence > 0)
        #expect(replay.queue == queue.name && replay.taskType == EmailTask.protoMessageName)
        if try await queue.connection.transport.jetStreamAPILevel() >= 1 {
            let pausedAt = Date()
            let paused = try await CommandRunner.run(["pause", queue.name, "--for", "60", "--server", url])
            #expect(paused.status == 0, "\(paused.stderr)")
            let resumed = try await CommandRunner.run(["resume", queue.name, "--server", url])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(await eventually { collected.count == 3 })
            #expect(collected.all.map(\.kind) == [.replayed, .paused, .resumed])
            let until = Double(collected.all[1].pausedUntilUnixMs) / 1000
            #expect(abs(until - pausedAt.addingTimeInterval(60).timeIntervalSince1970) < 5, "\(until)")
            #expect(collected.all[2].pausedUntilUnixMs == 0 && collected.all[2].taskID.isEmpty)
        }
        reader.cancel()
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

/// The command's authentication options and its exit codes for refused credentials and missing permissions, on a
/// private server with users.
@Suite(
    "The protoqueue command with users and permissions",
    .enabled(if: TestEnvironment.privateServerTestsEnabled, "needs nats-server"))
struct CommandLinePermissionTests {
    @Test func credentialsAreUsedAndRefusalsHaveTheirExitCodes() async throws {
        try await withNATSServer(configuration: ConnectionTests.permissionsConfiguration) { server in
            let admin = try await connect(
                server.url, authentication: .userPassword(user: "admin", password: "admin-pw"))
            _ = try await Queue<EmailTask>(connection: admin, name: "allowed", logger: testLogger())
            let stats = try await CommandRunner.run([
                "stats", "allowed", "--server", server.url, "--user", "admin", "--password", "admin-pw", "--json",
            ])
            #expect(stats.status == 0, "\(stats.stderr)")
            #expect(try JSONValue(parsing: stats.stdout)["queue"] == .string("allowed"))

            let refused = try await CommandRunner.run([
                "queues", "--server", server.url, "--user", "admin", "--password", "wrong",
            ])
            #expect(refused.status == 4, "\(refused.stderr)")
            #expect(refused.stderr.hasPrefix("error: "), "\(refused.stderr)")

            let denied = try await CommandRunner.run([
                "queues", "--server", server.url, "--user", "noapi", "--password", "noapi-pw", "--timeout", "2",
            ])
            #expect(denied.status == 5, "\(denied.stdout) \(denied.stderr)")
            #expect(denied.stderr.hasPrefix("error: "), "\(denied.stderr)")
            #expect(denied.stderr.split(separator: "\n").count == 1)
            await admin.close()
        }
    }
}
