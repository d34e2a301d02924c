import Foundation
import Logging

/// Runs one delivery: checks, decodes, calls the handler, turns the outcome into a ``Settlement``.
/// The decision itself is ``SettlementDecision``; per-task concerns that come later (heartbeats, deadlines,
/// tracing spans, metrics per outcome) hook in here.
struct TaskRunner<Message: ProtoqueueMessage>: Sendable {
    let engine: ProcessorEngine
    let configuration: QueueConfiguration
    let logger: Logger
    let handler: Queue<Message>.Handler

    func run(_ delivery: Delivery) async {
        let received = delivery.read()
        let attempt = Int(clamping: received.metadata.deliveries)
        let maxAttempts = configuration.consumer.maxDeliveries
        let id =
            received.headers[WireFormat.taskIDHeader] ?? received.headers[WireFormat.Header.messageID]
            ?? "seq-\(received.metadata.streamSequence)"
        // Built only when something is logged: setting metadata costs a log handler more than running a no-op task.
        var taskLogger: Logger {
            TaskContext.taskLogger(logger, id: id, attempt: attempt, sequence: received.metadata.streamSequence)
        }

        if received.metadata.streamSequence == 0 {
            logger.warning("cannot read the delivery's metadata; treating it as attempt 1")
        }
        let outcome: TaskOutcome
        if let maxAttempts, SettlementDecision.isGraceDelivery(attempt: attempt, maxAttempts: maxAttempts) {
            // Ack timeouts or worker crashes used the attempts up: dead-letter it without running the handler.
            taskLogger.warning("task delivered past its attempts without being settled; dead-lettering it")
            delivery.settle(SettlementDecision.graceDelivery(attempt: attempt, maxAttempts: maxAttempts))
            return
        } else if let type = received.headers[WireFormat.Header.messageType], type != Message.protoMessageName {
            taskLogger.error(
                "task has another message type; dead-lettering it", metadata: ["protoqueue.type": "\(type)"])
            outcome = .undecodable("message type \(type), expected \(Message.protoMessageName)")
        } else {
            do throws(ProtoqueueError) {
                let task = try Message(serializedBytes: received.data)
                outcome = await handle(
                    task, received: received, id: id, attempt: attempt, maxAttempts: maxAttempts, delivery: delivery)
            } catch {
                taskLogger.error(
                    "task payload does not decode; dead-lettering it", metadata: ["protoqueue.error": "\(error)"])
                outcome = .undecodable(error.description)
            }
        }
        let settlement = SettlementDecision.settlement(
            for: outcome, attempt: attempt, maxAttempts: maxAttempts,
            retryDelay: { configuration.retry.delay(afterAttempt: $0) }
        )
        switch (outcome, settlement) {
        case (.cancelled, _):
            taskLogger.debug("handler cancelled; returning the task")
        case (.threw(let error), .nak(let delay)):
            taskLogger.debug(
                "handler threw; retrying", metadata: ["protoqueue.error": "\(error)", "protoqueue.delay": "\(delay)"])
        case (.returned, .deadLetter(let reason, let error, _)), (.threw, .deadLetter(let reason, let error, _)):
            taskLogger.warning(
                "task failed; dead-lettering it",
                metadata: ["protoqueue.reason": "\(reason)", "protoqueue.error": "\(error)"])
        default:
            break
        }
        delivery.settle(settlement)
    }

    /// Calls the handler with the decoded task.
    private func handle(
        _ task: Message, received: ReceivedMessage, id: String, attempt: Int, maxAttempts: Int?, delivery: Delivery
    ) async -> TaskOutcome {
        var metadata: [String: String] = [:]
        for (key, value) in received.headers where key.hasPrefix(WireFormat.metadataPrefix) {
            metadata[String(key.dropFirst(WireFormat.metadataPrefix.count))] = value
        }
        let enqueuedAt = received.headers[WireFormat.Header.enqueuedAt].flatMap(Int64.init).map {
            Date(timeIntervalSince1970: Double($0) / 1000)
        }
        let context = TaskContext(
            id: id, attempt: attempt, maxAttempts: maxAttempts, enqueuedAt: enqueuedAt, metadata: metadata,
            headers: received.headers, subject: received.subject, streamSequence: received.metadata.streamSequence,
            baseLogger: logger, delivery: delivery
        )
        do {
            return .returned(try await handler(task, context))
        } catch {
            // Stopped while running: not the task's fault.
            return Task.isCancelled ? .cancelled : .threw(String(describing: error))
        }
    }
}
