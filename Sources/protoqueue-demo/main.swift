import Foundation
import Logging
import Protoqueue
import TaskSchemas

// protoqueue-demo: enqueues a batch of typed EmailTask tasks into the queue "demo-emails" and prints the stats.
// The worker side arrives with the processing issue; until then the demo stops after enqueue and stats.
// NATS_URL selects the server (scripts/demo.sh starts a private one); DEMO_TASKS the batch size (default 1,000).

var logger = Logger(label: "protoqueue.demo")
logger.logLevel = .info
let environment = ProcessInfo.processInfo.environment
let url = environment["NATS_URL"] ?? "nats://127.0.0.1:4222"
let count = environment["DEMO_TASKS"].flatMap { Int($0) } ?? 1_000

do {
    let connection = try await NATSConnection.connect(.init(servers: [url], name: "protoqueue-demo"), logger: logger)
    let queue = try await Queue<EmailTask>(connection: connection, name: "demo-emails", logger: logger)
    let tasks = (0..<count).map { index in
        EnqueueItem(
            EmailTask(
                to: "user\(index)@example.com",
                subject: "Welcome, user \(index)",
                templateID: "welcome-v3",
                templateValues: ["name": "User \(index)"],
                priority: index % 10 == 0 ? .high : .normal
            ),
            options: .init(id: "welcome-\(index)", metadata: ["tenant": "demo"])
        )
    }
    let started = ContinuousClock.now
    let results = try await queue.enqueueBatch(tasks)
    let elapsed = ContinuousClock.now - started
    let stored = results.filter { (try? $0.get()) != nil }.count
    let duplicates = results.filter { (try? $0.get())?.duplicate == true }.count
    print("enqueued \(stored) of \(count) EmailTask tasks in \(elapsed) (\(duplicates) duplicates of earlier runs)")
    let single = try await queue.enqueue(tasks[0].task, options: tasks[0].options)
    print("re-enqueue of id \(single.id): sequence \(single.sequence), duplicate \(single.duplicate)")
    let stats = try await queue.stats()
    print("stats: messages=\(stats.messages) bytes=\(stats.bytes) first=\(stats.firstSequence) last=\(stats.lastSequence) consumers=\(stats.consumerCount) pending=\(stats.pending) ackPending=\(stats.ackPending) redelivered=\(stats.redelivered) waitingPulls=\(stats.waitingPulls) deadLetters=\(stats.deadLetters)")
    await connection.close()
} catch {
    print("demo failed: \(error)")
    exit(1)
}
