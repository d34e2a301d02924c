public import Foundation
import Logging

extension Queue {
    /// Pauses the queue for every worker, in every process and language: no worker starts a new task until
    /// ``resume()`` (or `until`). With events on, publishes a `paused` event. Running handlers finish and settle as
    /// usual; enqueues, delayed tasks and schedules go on, their tasks waiting. A worker started while the queue is
    /// paused waits.
    ///
    /// It uses the server's consumer pause: the state lives in the queue's durable consumer, so it survives worker
    /// and server restarts, and ``stats()`` shows it.
    /// - Parameter until: When the pause ends on its own; `nil` pauses until ``resume()``.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/unsupportedByServer`` on a server before 2.11,
    ///   ``ProtoqueueCodec/ProtoqueueError/Code/invalidConfiguration`` for an `until` already passed, or what the
    ///   server answered.
    public func pause(until: Date? = nil) async throws(ProtoqueueError) {
        try await handle.pause(until: until)
    }

    /// Resumes a paused queue: workers start tasks again at once. Resuming a queue that is not paused changes
    /// nothing on the server. With events on, publishes a `resumed` event.
    /// - Throws: ``ProtoqueueCodec/ProtoqueueError/Code/unsupportedByServer`` on a server before 2.11, or what
    ///   the server answered.
    public func resume() async throws(ProtoqueueError) {
        try await handle.resume()
    }
}

extension QueueHandle {
    /// The end of a pause with no end: far enough that it never comes, near enough for every server to read.
    static var indefinitePause: Date { Date(timeIntervalSince1970: 32_503_680_000) }  // 3000-01-01

    /// What ``Queue/pause(until:)`` does.
    package func pause(until: Date? = nil) async throws(ProtoqueueError) {
        if let until, until.timeIntervalSinceNow <= 0 {
            throw ProtoqueueError(
                .invalidConfiguration, "pause(until: \(until)) of queue \"\(name)\" lies in the past")
        }
        try await checkPauseSupported(operation: "pause")
        for consumer in layout.workerConsumers {
            _ = try await connection.transport.pauseConsumer(
                stream: layout.streamName, consumer: consumer.consumerName, until: until ?? Self.indefinitePause)
        }
        events?.paused(until: until)
        logger.info(
            "queue paused", metadata: ["protoqueue.until": "\(until.map { "\($0)" } ?? "resumed by hand")"])
    }

    /// What ``Queue/resume()`` does.
    package func resume() async throws(ProtoqueueError) {
        try await checkPauseSupported(operation: "resume")
        for consumer in layout.workerConsumers {
            _ = try await connection.transport.pauseConsumer(
                stream: layout.streamName, consumer: consumer.consumerName, until: nil)
        }
        events?.resumed()
        logger.info("queue resumed")
    }

    /// Throws ``ProtoqueueCodec/ProtoqueueError/Code/unsupportedByServer`` when the server has no consumer pause.
    private func checkPauseSupported(operation: String) async throws(ProtoqueueError) {
        try ServerFeature.consumerPause.check(
            level: try await connection.transport.jetStreamAPILevel(), operation: "\(operation) queue \"\(name)\"")
    }
}
