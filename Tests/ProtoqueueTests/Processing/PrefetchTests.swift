import Foundation
import NATSTestSupport
import TaskSchemas
import Testing

@testable import Protoqueue

/// Tasks fetched ahead of the handlers: how many (a pure rule), how the fetch state pulls and parks them, and, against
/// a real nats-server, that tasks waiting past the ack wait are kept and that a stopping worker gives them back.
@Suite("Prefetch")
struct PrefetchTests {
    private let ms: UInt64 = 1_000_000

    @Test func automaticFetchesAheadAboutTwentyMillisecondsOfWork() {
        let table: [(Prefetch, Duration?, Int)] = [
            (.automatic, nil, 0),
            (.automatic, .zero, 0),
            (.automatic, .microseconds(3), 64),
            (.automatic, .milliseconds(5), 64),
            (.automatic, .milliseconds(10), 32),
            (.automatic, .milliseconds(20), 16),
            (.automatic, .milliseconds(80), 4),
            (.automatic, .milliseconds(400), 0),
            (.automatic, .seconds(30), 0),
            (.none, .milliseconds(1), 0),
            (.tasks(5), nil, 5),
            (.tasks(5), .seconds(30), 5),
        ]
        for (prefetch, mean, extra) in table {
            #expect(
                prefetch.extra(concurrency: 16, meanRunTime: mean) == extra, "\(prefetch), \(String(describing: mean))")
        }
        #expect(ProcessOptions().prefetch == .automatic)
        #expect(throws: ProtoqueueError.self) { try ProcessOptions(prefetch: .tasks(-1)).validated() }
        #expect(throws: ProtoqueueError.self) { try ProcessOptions(prefetch: .tasks(100_001)).validated() }
        #expect(Prefetch.tasks(0) == .none && "\(Prefetch.tasks(3))" == "tasks(3)")
    }

    @Test func pullsAskForTheTasksAheadAndTheyWaitParkedForSlots() {
        var fetch = FetchState<Int>(concurrency: 2, expiry: 500 * ms)
        let turn = fetch.turn(now: 0, prefetch: 3)
        #expect(turn.pull == 5)
        fetch.pulled(5, expires: turn.expires, at: 0)
        #expect(fetch.arrived(1, at: 1 * ms) == (.admitted, true))
        #expect(fetch.arrived(2, at: 1 * ms) == (.admitted, true))
        #expect(fetch.arrived(3, at: 1 * ms) == (.parked, true))
        #expect(fetch.arrived(4, at: 2 * ms) == (.parked, true))
        fetch.requestEnded(number: nil)
        // Both slots held and two tasks parked: one more of the three ahead may come; with none ahead, nothing.
        #expect(fetch.turn(now: 3 * ms, prefetch: 3).pull == 1)
        #expect(fetch.turn(now: 3 * ms, prefetch: 0).pull == nil)
        #expect(fetch.release(1) == [3])
        #expect(fetch.parked == [4])
    }

    @Test func slotsFreedAheadOfTheirWriteServePullsButNoDeliveryYet() {
        var fetch = FetchState<Int>(concurrency: 2, expiry: 500 * ms)
        let turn = fetch.turn(now: 0, prefetch: 2)
        fetch.pulled(turn.pull!, expires: turn.expires, at: 0)
        for delivery in 1...4 { _ = fetch.arrived(delivery, at: 1 * ms) }
        #expect(fetch.parked == [3, 4])
        // Two tasks done, their acknowledgements not yet written: a pull may count the slots (it travels behind
        // those acknowledgements), a waiting or arriving task may not.
        #expect(fetch.release(2, awaitingWrite: true).isEmpty)
        #expect(fetch.free == 2 && fetch.admissible == 0 && fetch.unwritten == 2)
        #expect(fetch.turn(now: 2 * ms, prefetch: 2).pull == 2)
        #expect(fetch.arrived(5, at: 2 * ms) == (.parked, false))
        #expect(fetch.written(1) == [3])
        #expect(fetch.written(1) == [4])
        #expect(fetch.parked == [5] && fetch.free == 0 && fetch.unwritten == 0)
        // Released without awaiting a write (a transport that sends at once), a slot goes to a waiting task at once.
        #expect(fetch.release(1) == [5])
    }

    @Test func parkedDeliveriesAreDueASignalEveryInterval() {
        var fetch = FetchState<Int>(concurrency: 1, expiry: 500 * ms)
        _ = fetch.arrived(1, at: 0)
        _ = fetch.arrived(2, at: 10 * ms)
        _ = fetch.arrived(3, at: 20 * ms)
        let early = fetch.parkedSignals(now: 50 * ms, every: 100 * ms)
        #expect(early.due.isEmpty && early.next == 110 * ms)
        let first = fetch.parkedSignals(now: 115 * ms, every: 100 * ms)
        #expect(first.due == [2] && first.next == 120 * ms)
        _ = fetch.release(1)  // 2 takes the slot
        let second = fetch.parkedSignals(now: 120 * ms, every: 100 * ms)
        #expect(second.due == [3] && second.next == 220 * ms)
        _ = fetch.release(1)
        #expect(fetch.parkedSignals(now: 500 * ms, every: 100 * ms).next == nil)
    }

    @Test(.enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
    func tasksWaitingAheadPastTheAckWaitAreNotDeliveredAgain() async throws {
        // A 2 s ack wait: waiting tasks are signalled every 667 ms, 1.33 s before their window ends (with 1 s, the
        // 667 ms left was once not enough on two loaded cores).
        try await withPrefetchQueue(ackWait: .seconds(2)) { queue in
            for index in 0..<3 { _ = try await queue.enqueue(EmailTask(to: "t\(index)@example.com")) }
            let runs = Recorder<(String, Int)>()
            let options = ProcessOptions(concurrency: 1, fetchTimeout: .milliseconds(200), prefetch: .tasks(2))
            try await withProcessor(queue, options: options) { task, context in
                runs.record((task.to, context.attempt))
                try await Task.sleep(for: .milliseconds(3200))
                return .success
            } body: {
                // All three held at once: one running, two waiting ahead.
                #expect(await eventually { (try? await queue.stats().ackPending) == 3 })
                #expect(await eventually(timeout: .seconds(25)) { (try? await queue.stats().messages) == 0 })
            }
            #expect(runs.all.map(\.0).sorted() == ["t0@example.com", "t1@example.com", "t2@example.com"])
            #expect(runs.all.allSatisfy { $0.1 == 1 })
        }
    }

    @Test(.enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
    func aStoppingWorkerGivesTheTasksItFetchedAheadBackAtOnce() async throws {
        try await withPrefetchQueue(ackWait: .seconds(30)) { queue in
            for index in 0..<6 { _ = try await queue.enqueue(EmailTask(to: "s\(index)@example.com")) }
            let started = Recorder<String>()
            // The first task runs until the test saw all six held (a loaded machine cannot hide it), then 300 ms
            // more, while the worker stops with the other five still waiting ahead.
            let seen = Recorder<Bool>()
            let options = ProcessOptions(concurrency: 1, fetchTimeout: .milliseconds(200), prefetch: .tasks(5))
            try await withProcessor(queue, options: options) { task, _ in
                started.record(task.to)
                while seen.count == 0 { try? await Task.sleep(for: .milliseconds(10)) }
                try? await Task.sleep(for: .milliseconds(300))
                return .success
            } body: {
                #expect(await eventually { (try? await queue.stats().ackPending) == 6 })
                seen.record(true)
            }
            // Long before the 30 s ack wait, another worker gets the rest.
            let begin = ContinuousClock.now
            try await queue.process(options: ProcessOptions(fetchTimeout: .milliseconds(200), stopWhenIdle: true)) {
                task, _ in
                started.record(task.to)
                return .success
            }
            #expect(ContinuousClock.now - begin < .seconds(10))
            #expect(Set(started.all).count == 6)
            #expect(try await queue.stats().messages == 0)
        }
    }

    private func withPrefetchQueue(
        ackWait: Duration, _ body: (Queue<EmailTask>) async throws -> Void
    ) async throws {
        let connection = try await connect(try await SharedServer.url())
        do {
            let queue = try await Queue<EmailTask>(
                connection: connection, name: uniqueName("prefetch"),
                configuration: QueueConfiguration(consumer: .init(ackWait: ackWait)), logger: testLogger())
            try await body(queue)
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }
}
