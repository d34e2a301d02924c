import Foundation
import NATSServerHarness
import NATSTestSupport
import Protoqueue
import ProtoqueueTesting
import TaskSchemas
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Pause and resume: across worker processes on a server with consumer pause (2.11+), a typed error below it, and
/// the in-memory transport.
@Suite("Pause and resume")
struct PauseTests {
    @Test(.enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
    func pauseStopsTwoWorkerProcessesWithinASecondAndSurvivesAWorkerRestart() async throws {
        let url = try await SharedServer.url()
        try await withConnection(url) { connection in
            let name = uniqueName("pause")
            // The settings the chaos worker opens its queue with (protoqueue-chaos, Common.swift).
            var configuration = QueueConfiguration(
                duplicateWindow: .seconds(600),
                consumer: .init(ackWait: .seconds(2), maxDeliveries: 50, maxAckPending: 2000))
            configuration.retry = .fixed(.milliseconds(100))
            let queue = try await Queue<EmailTask>(
                connection: connection, name: name, configuration: configuration, logger: testLogger())
            guard try await serverHasConsumerPause(queue) else { return }
            let directory = try NATSServerProcess.temporaryDirectory(prefix: "protoqueue-pause-test")
            defer { try? FileManager.default.removeItem(at: directory) }
            let workers = WorkerProcesses(url: url, queue: name, directory: directory)
            defer { workers.stopAll() }
            try await workers.startOne()
            try await workers.startOne()
            let tasks = (0..<1200).map { EnqueueItem(EmailTask(to: "p\($0)@example.com", subject: "pause")) }
            for result in try await queue.enqueueBatch(tasks) { _ = try result.get() }
            #expect(await eventually { workers.started().count >= 100 })

            try await queue.pause()
            let pausedAt = Date()
            let stats = try await queue.stats()
            #expect(stats.isPaused && stats.pausedUntil == nil)
            try await Task.sleep(for: .seconds(2.5))
            let late = workers.started().filter { $0 > pausedAt.addingTimeInterval(1) }
            #expect(late.isEmpty, "\(late.count) tasks started more than 1 s after the pause")
            // A worker restarted while the queue is paused waits too.
            try await offCooperativePool { workers.killFirst() }
            try await workers.startOne()
            try await Task.sleep(for: .seconds(2))
            #expect(workers.started().filter { $0 > pausedAt.addingTimeInterval(1) }.isEmpty)
            #expect(try await queue.stats().messages > 0)

            try await queue.resume()
            #expect(try await queue.stats().isPaused == false)
            #expect(await eventually(timeout: .seconds(30)) { (try? await queue.stats().messages) == 0 })
        }
    }

    @Test(.enabled(if: TestEnvironment.serverTestsEnabled, "set NATS_URL or install nats-server"))
    func aPauseWithAnEndResumesOnItsOwnAndAPastEndIsRefused() async throws {
        try await withBackend(.nats) { env in
            guard try await serverHasConsumerPause(env.queue) else { return }
            let end = Date().addingTimeInterval(4)
            try await env.queue.pause(until: end)
            let stats = try await env.queue.stats()
            #expect(stats.isPaused)
            #expect(abs((stats.pausedUntil ?? .distantPast).timeIntervalSince(end)) < 0.01)
            let seen = Recorder<Date>()
            try await env.enqueue(1)
            try await withProcessor(env.queue) { _, _ in
                seen.record(Date())
                return .success
            } body: {
                try await Task.sleep(for: .seconds(1))
                #expect(seen.count == 0)
                #expect(await eventually { seen.count == 1 })
                #expect(seen.all.allSatisfy { $0 >= end.addingTimeInterval(-0.1) })
            }
            let past = await failure { () async throws(ProtoqueueError) in
                try await env.queue.pause(until: Date().addingTimeInterval(-1))
            }
            #expect(past?.code == .invalidConfiguration)
        }
    }

    @Test func theInMemoryServerPausesOnItsVirtualClock() async throws {
        try await withBackend(.memory) { env in
            try await env.queue.pause(until: Date().addingTimeInterval(60))
            try await env.enqueue(2)
            let seen = Recorder<TaskID>()
            try await withProcessor(env.queue) { _, context in
                seen.record(context.id)
                return .success
            } body: {
                await env.settle()
                #expect(seen.count == 0)
                #expect(try await env.queue.stats().isPaused)
                await env.advance(by: .seconds(61))
                #expect(await eventually { seen.count == 2 })
                try await env.queue.pause()
                try await env.enqueue(1, prefix: "later")
                await env.settle()
                #expect(seen.count == 2)
                try await env.queue.resume()
                #expect(await eventually { seen.count == 3 })
            }
            #expect(try await env.queue.stats().isPaused == false)
        }
    }

    /// Whether the server has consumer pause (2.11+); below it, checks that pausing is refused with a typed error
    /// naming the version, and returns `false`.
    private func serverHasConsumerPause(_ queue: Queue<EmailTask>) async throws -> Bool {
        let refusal: ProtoqueueError
        do {
            try await queue.resume()
            return true
        } catch {
            refusal = error
        }
        guard refusal.code == .unsupportedByServer else { throw refusal }
        #expect(refusal.message.contains("nats-server 2.11 or later"))
        let pauseError = await failure { () async throws(ProtoqueueError) in try await queue.pause() }
        #expect(pauseError?.code == .unsupportedByServer)
        let stats = try await queue.stats()
        #expect(!stats.isPaused)
        return false
    }
}

/// The error `body` throws, or `nil`.
func failure(_ body: () async throws(ProtoqueueError) -> Void) async -> ProtoqueueError? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}

/// `protoqueue-chaos worker` processes on one queue (50 ms per task, 4 handlers each), with their ledgers.
final class WorkerProcesses: @unchecked Sendable {
    private let url: String
    private let queue: String
    private let directory: URL
    private var processes: [OwnedProcess] = []

    init(url: String, queue: String, directory: URL) {
        self.url = url
        self.queue = queue
        self.directory = directory
    }

    /// The chaos tool, built beside the test bundle by `swift build --build-tests`.
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("protoqueue-chaos").path
    }

    /// Starts one more worker and waits until it is ready, off the cooperative thread pool (up to 30 s).
    func startOne() async throws {
        try await offCooperativePool { try self.start() }
    }

    private func start() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw HarnessError("\(Self.executable) is missing: build it with `swift build --build-tests`")
        }
        let index = processes.count
        let log = directory.appendingPathComponent("worker-\(index).log")
        let process = try OwnedProcess(
            executable: Self.executable,
            arguments: [
                "worker", "--servers", url, "--queue", queue, "--ledger",
                directory.appendingPathComponent("ledger-\(index).txt").path, "--concurrency", "4", "--work-ms", "50",
            ],
            logFile: log)
        processes.append(process)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("ready") { return }
            guard process.isRunning else {
                throw HarnessError("worker exited: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
            usleep(20_000)
        }
        throw HarnessError("worker \(index) did not get ready in 30 s")
    }

    /// When each ledger line's handler started.
    func started() -> [Date] {
        (0..<processes.count).flatMap { index -> [Date] in
            let text =
                (try? String(contentsOf: directory.appendingPathComponent("ledger-\(index).txt"), encoding: .utf8))
                ?? ""
            return text.split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ")
                return fields.count == 4 ? Int64(fields[2]).map { Date(timeIntervalSince1970: Double($0) / 1000) } : nil
            }
        }
    }

    func killFirst() {
        guard let first = processes.first(where: \.isRunning) else { return }
        first.signal(SIGKILL)
        first.waitForExit(timeout: 5)
    }

    func stopAll() {
        for process in processes where process.isRunning {
            process.signal(SIGKILL)
            process.waitForExit(timeout: 5)
        }
    }
}
