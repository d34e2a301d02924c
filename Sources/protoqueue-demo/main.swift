import Foundation
import Logging
import Protoqueue
import ServiceLifecycle
import Synchronization
import TaskSchemas

// protoqueue-demo: the whole life of typed tasks on NATS JetStream.
// A producer enqueues a batch of EmailTasks; a worker processes them: most succeed, two fail twice and succeed
// on their third attempt (retried with backoff), one keeps throwing and one is rejected outright; both end in the
// dead-letter stream. The rejected one is replayed after the "fix" and succeeds; a delayed one starts 1.5 s after the
// batch, and a schedule declared on the queue fires every second until it is removed. Stats are printed along the way,
// and at the end a summary of what the queue's QueueMetrics middleware recorded (into DemoMetrics, in memory).
// Reads NATS_URL (default nats://127.0.0.1:4222); scripts/demo.sh starts a private nats-server.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let started = ContinuousClock.now
func say(_ text: String) {
    let elapsed = ContinuousClock.now - started
    let ms = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    print(String(format: "[%6.3fs] ", Double(ms) / 1000) + text)
    fflush(nil)
}

func statsLine(_ stats: QueueStats) -> String {
    "in stream \(stats.messages), pending \(stats.pending), unacknowledged \(stats.ackPending), scheduled "
        + "\(stats.scheduled), dead letters \(stats.deadLetters), schedules \(stats.schedules)"
}

struct TemplateMissing: Error, CustomStringConvertible {
    var description: String
}

var logger = Logger(label: "protoqueue-demo", factory: { StreamLogHandler.standardError(label: $0) })
logger.logLevel =
    ProcessInfo.processInfo.environment["PROTOQUEUE_DEMO_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .error

let url = ProcessInfo.processInfo.environment["NATS_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "nats://127.0.0.1:4222"
let connection: NATSConnection
do {
    connection = try await NATSConnection.connect(.init(servers: [url], name: "protoqueue-demo"), logger: logger)
} catch {
    print("protoqueue-demo: cannot connect to \(url): \(error)")
    exit(1)
}

do {
    var configuration = QueueConfiguration()
    configuration.consumer.maxDeliveries = 3
    configuration.consumer.ackWait = .seconds(10)
    configuration.retry = .exponential(initial: .milliseconds(200), multiplier: 2, maximum: .seconds(2), jitter: 0.1)
    let queueName = "demo_emails_\(getpid())"
    let recorded = DemoMetrics()
    let queue = try await Queue<EmailTask>(
        connection: connection, name: queueName, configuration: configuration,
        middleware: [QueueMetrics(factory: recorded)], logger: logger)
    say(
        "connected to \(url); queue \"\(queueName)\": stream \(queue.layout.streamName), dead letters in "
            + "\(queue.layout.deadLetterStreamName)"
    )
    say("retry policy \(configuration.retry), \(configuration.consumer.maxDeliveries!) attempts per task")

    // Producer.
    var items: [EnqueueItem<EmailTask>] = []
    for index in 1...8 {
        items.append(
            EnqueueItem(
                EmailTask(to: "user\(index)@example.com", subject: "Welcome!", templateID: "welcome-v3"),
                options: .init(id: "welcome-\(index)")))
    }
    items.append(
        EnqueueItem(
            EmailTask(to: "flaky1@example.com", subject: "Invoice", templateID: "invoice"),
            options: .init(id: "invoice-flaky-1", metadata: ["smtp": "flaky"])))
    items.append(
        EnqueueItem(
            EmailTask(to: "flaky2@example.com", subject: "Invoice", templateID: "invoice"),
            options: .init(id: "invoice-flaky-2", metadata: ["smtp": "flaky"])))
    items.append(
        EnqueueItem(
            EmailTask(to: "down@example.com", subject: "Report", templateID: "report"),
            options: .init(id: "report-smtp-down", metadata: ["smtp": "down"])))
    items.append(
        EnqueueItem(
            EmailTask(to: "ada@example.com", subject: "Promo", templateID: "promo-2027"),
            options: .init(id: "promo-unknown-template")))
    // A delayed task: stored now, started no earlier than 1.5 s from now.
    items.append(
        EnqueueItem(
            EmailTask(to: "ada@example.com", subject: "Reminder", templateID: "welcome-v3"),
            options: .init(id: "reminder-delayed", notBefore: Date().addingTimeInterval(1.5))))
    let results = try await queue.enqueueBatch(items)
    let stored = results.filter { (try? $0.get()) != nil }.count
    say("producer: enqueued \(stored) of \(items.count) EmailTasks in one batch")
    // A schedule: kept on the server; the worker fires its ticks.
    try await queue.declareSchedule(
        TaskSchedule(name: "digest", timing: .every(.seconds(1))),
        task: EmailTask(to: "ops@example.com", subject: "Digest", templateID: "welcome-v3"))
    say("producer: declared schedule \"digest\", every second")
    say("stats: \(statsLine(try await queue.stats()))")

    // Worker.
    let templates = Mutex<Set<String>>(["welcome-v3", "invoice", "report"])
    let outcomes = Mutex<[TaskID: String]>([:])
    let ticks = Mutex(0)
    let processor = queue.processor(options: .init(concurrency: 4, fetchTimeout: .milliseconds(200))) { task, context in
        let tag = "task \(context.id) attempt \(context.attempt)"
        if let schedule = context.headers[WireFormat.scheduleHeader] {
            say("worker: \(tag): schedule \(schedule) fired; digest sent to \(task.to) → success")
            ticks.withLock { $0 += 1 }
            return .success
        }
        guard templates.withLock({ $0.contains(task.templateID) }) else {
            say("worker: \(tag): template \"\(task.templateID)\" does not exist → failure, dead-lettered")
            return .failure("template \(task.templateID) not found", details: ["template": task.templateID])
        }
        switch context.metadata["smtp"] {
        case "flaky" where context.attempt < 3:
            say("worker: \(tag): SMTP timeout → throws, retried with backoff")
            throw TemplateMissing(description: "SMTP timeout talking to mx.example.com")
        case "down":
            say(
                "worker: \(tag): SMTP refused → "
                    + "throws\(context.isLastAttempt ? ", last attempt: dead-lettered" : ", retried with backoff")"
            )
            throw TemplateMissing(description: "SMTP 554: relay refused")
        default:
            let waited =
                context.notBefore.map {
                    String(format: " (delayed task, due %.0f ms ago)", Date().timeIntervalSince($0) * 1000)
                }
                ?? context.enqueuedAt.map {
                    String(format: " (enqueued %.0f ms ago)", Date().timeIntervalSince($0) * 1000)
                } ?? ""
            say("worker: \(tag): sent to \(task.to)\(waited) → success")
            outcomes.withLock { $0[context.id] = "sent on attempt \(context.attempt)" }
            return .success
        }
    }
    let group = ServiceGroup(services: [processor], logger: logger)
    let worker = Task { try await group.run() }

    func waitUntil(_ what: String, _ condition: (QueueStats) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if condition(try await queue.stats()) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProtoqueueError(.timeout, "demo: gave up waiting for \(what)")
    }
    try await waitUntil("the batch to be processed and the schedule to fire twice") {
        $0.messages == 0 && $0.deadLetters == 2 && $0.ackPending == 0 && ticks.withLock { $0 } >= 2
    }
    try await queue.removeSchedule(named: "digest")
    say("producer: removed schedule \"digest\" after \(ticks.withLock { $0 }) ticks")
    say("stats: \(statsLine(try await queue.stats()))")

    // Dead letters.
    let letters = try await queue.deadLetters().reduce(into: [DeadLetter<EmailTask>]()) { $0.append($1) }
    for letter in letters {
        let recipient = letter.task?.to ?? "<undecodable>"
        let details = letter.details.isEmpty ? "" : " \(letter.details)"
        say(
            "dead letter #\(letter.sequence): task \(letter.id?.description ?? "?") to \(recipient), "
                + "reason \(letter.reason), after \(letter.attempts) attempt(s): \(letter.error)\(details)"
        )
    }

    // Fix the missing template and replay that task.
    templates.withLock { _ = $0.insert("promo-2027") }
    say("operator: template promo-2027 deployed; replaying its dead letter")
    var replayed = 0
    if let promo = letters.first(where: { $0.reason == .failed }) {
        let receipt = try await queue.replayDeadLetter(sequence: promo.sequence)
        replayed += 1
        say(
            "replayed dead letter #\(promo.sequence) as task \(receipt.id) (stream sequence \(receipt.sequence), fresh "
                + "attempt count)"
        )
    }
    // A tick already due when the schedule was removed may still come: wait out one interval.
    try await Task.sleep(for: .seconds(1.2))
    try await waitUntil("the replayed task") { $0.messages == 0 && $0.deadLetters == 1 && $0.ackPending == 0 }

    say("stopping the worker gracefully")
    await group.triggerGracefulShutdown()
    try await worker.value

    let stats = try await queue.stats()
    say("final stats: \(statsLine(stats))")
    let sent = outcomes.withLock { $0 }
    say(
        "summary: \(sent.count) emails sent (\(sent.values.filter { $0 != "sent on attempt 1" }.count) after retries), "
            + "\(stats.deadLetters) task left in the dead-letter stream"
    )
    printMetricsSummary(recorded, replayed: replayed)
    await connection.close()
    guard sent.count == 12, stats.deadLetters == 1, stats.messages == 0 else {
        print("protoqueue-demo: unexpected outcome")
        exit(1)
    }
} catch {
    print("protoqueue-demo failed: \(error)")
    await connection.close()
    exit(1)
}

/// A few lines from what `QueueMetrics` recorded: tasks sent, deliveries, settlements, handler run time, queue wait.
func printMetricsSummary(_ recorded: DemoMetrics, replayed: Int) {
    let names = QueueMetrics.Names()
    // "11 acknowledged, 6 retried", leaving out the values nothing was recorded for.
    func counts(_ label: String, by key: String, _ count: (String, [String: String]) -> Int) -> String {
        recorded.values(of: key, in: label).map { (count(label, [key: $0]), $0) }.filter { $0.0 > 0 }
            .map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    }
    let deadLettered = recorded.values(of: "reason", in: names.settled).filter { $0 != "none" }
        .map { "\($0) \(recorded.total(names.settled, ["outcome": "dead_lettered", "reason": $0]))" }
    let refused = recorded.values(of: "error.type", in: names.sent).reduce(0) {
        $0 + recorded.total(names.sent, ["error.type": $1])
    }
    let sent = recorded.total(names.sent) - refused
    let consumed = recorded.total(names.consumed)
    say("metrics: \(sent) tasks sent (\(refused) refused), \(consumed) deliveries consumed (\(replayed) replayed)")
    let settle = timingSummary(recorded.samples(names.operationDuration, ["messaging.operation.name": "settle"]))
    say("metrics: settlement handed to the connection \(settle)")
    let settled = counts(names.settled, by: "outcome", recorded.total)
    say("metrics: settled \(settled) (dead letters: \(deadLettered.joined(separator: ", ")))")
    say("metrics: handler runs \(counts(names.processDuration, by: "outcome") { recorded.samples($0, $1).count })")
    say("metrics: handler run time \(timingSummary(recorded.samples(names.processDuration)))")
    let wait = timingSummary(recorded.samples(names.queueWait))
    say("metrics: queue wait (first attempts; the replay's from its first enqueue) \(wait)")
}
