import Foundation
import Synchronization

/// Consumer pause on the virtual clock: a paused consumer delivers nothing until the clock reaches its end.
extension MemoryBroker {
    /// The level of a current server (2.15): the in-memory transport has the features that need one.
    func jetStreamAPILevel() async throws(ProtoqueueError) -> Int { 5 }

    func pauseConsumer(
        stream: String, consumer: String, until: Date?
    ) async throws(ProtoqueueError) -> ConsumerPause {
        try checkOpen()
        let pause = try state.withLock { state throws(ProtoqueueError) -> ConsumerPause in
            guard state.store.streams[stream]?.consumers[consumer] != nil else {
                throw ProtoqueueError(.streamNotFound, "pause consumer \"\(consumer)\": consumer not found")
            }
            // The pause ends on the virtual clock, `until` read against the schedule clock.
            let end = until.map { Int64(($0.timeIntervalSince1970 * 1000).rounded(.up)) }
            let pause = end.flatMap { end -> (until: UInt64, end: Int64)? in
                let left = end - scheduleMilliseconds(state)
                guard left > 0 else { return nil }
                let (nanoseconds, overflow) = UInt64(left).multipliedReportingOverflow(by: 1_000_000)
                let (sum, beyond) = state.now.addingReportingOverflow(nanoseconds)
                return (overflow || beyond ? .max : sum, end)
            }
            state.store.streams[stream]!.consumers[consumer]!.pause = pause
            return pauseState(stream: stream, consumer: consumer, state)
        }
        hubs.withLock { $0 }?.wake()
        return pause
    }

    func consumerPause(stream: String, consumer: String) async throws(ProtoqueueError) -> ConsumerPause {
        try checkOpen()
        return try state.withLock { state throws(ProtoqueueError) -> ConsumerPause in
            guard state.store.streams[stream]?.consumers[consumer] != nil else {
                throw ProtoqueueError(.streamNotFound, "read consumer \"\(consumer)\": consumer not found")
            }
            return pauseState(stream: stream, consumer: consumer, state)
        }
    }

    private func scheduleMilliseconds(_ state: State) -> Int64 {
        WallClock.unixMilliseconds() + Int64(state.now / 1_000_000)
    }

    /// The pause of a consumer: until the time it was paused to, while the virtual clock has not reached it.
    private func pauseState(stream: String, consumer: String, _ state: State) -> ConsumerPause {
        guard let pause = state.store.streams[stream]?.consumers[consumer]?.pause, pause.until > state.now else {
            return ConsumerPause(paused: false, until: nil)
        }
        return ConsumerPause(paused: true, until: Date(timeIntervalSince1970: Double(pause.end) / 1000))
    }
}
