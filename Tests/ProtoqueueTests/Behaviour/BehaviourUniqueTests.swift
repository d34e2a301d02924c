import Foundation
import Protoqueue
import TaskSchemas
import Testing

/// Unique tasks and declared schedules on both transports (the memory one must keep the same conditional writes).
@Suite("Behaviour: unique tasks and schedules")
struct BehaviourUniqueTests {
    @Test(arguments: Backend.available)
    func aUniqueKeyIsHeldUntilTheTaskIsFinished(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let options = { (id: TaskID) in EnqueueOptions(id: id, unique: .init(key: "nightly")) }
            let first = try await env.queue.enqueue(EmailTask(to: "a"), options: options("first"))
            let second = try await env.queue.enqueue(EmailTask(to: "b"), options: options("second"))
            #expect(!first.duplicate && second.duplicate && second.id == "first" && second.sequence == first.sequence)
            let runs = Recorder<TaskID>()
            try await withProcessor(env.queue) { _, context in
                runs.record(context.id)
                return .success
            } body: {
                #expect(await eventually { (try? await env.queue.stats().messages) == 0 })
                await env.settle()
            }
            #expect(runs.all == ["first"])
            let third = try await env.queue.enqueue(EmailTask(to: "c"), options: options("third"))
            #expect(!third.duplicate && third.id == "third")
        }
    }

    @Test(arguments: Backend.available)
    func aScheduleIsDeclaredOnceAndCountedApartFromTasks(_ backend: Backend) async throws {
        try await withBackend(backend) { env in
            let schedule = TaskSchedule(name: "digest", timing: .every(.seconds(3600)))
            #expect(try await env.queue.declareSchedule(schedule, task: EmailTask(to: "ops")))
            #expect(try await !env.queue.declareSchedule(schedule, task: EmailTask(to: "ops")))
            let stats = try await env.queue.stats()
            #expect(stats.messages == 0 && stats.schedules == 1, "\(stats)")
            #expect(try await env.queue.schedules().map(\.schedule.name) == ["digest"])
            #expect(try await env.queue.removeSchedule(named: "digest"))
            #expect(try await env.queue.stats().schedules == 0)
        }
    }
}
