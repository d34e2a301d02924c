import Logging

/// Looks for tasks stranded on one processor's consumer (``StrandedTasks``) at every `interval` and recovers them:
/// it deletes the consumer and has the processor create it again with the queue's configuration, and the new
/// consumer delivers every message still stored on its filter. Tasks running on any worker at that moment are
/// delivered again (at-least-once). A paused consumer is left alone until it is resumed: creating it again would
/// end its pause. A look that finds the consumer gone (a recovery whose creation timed out, say) has the processor
/// create it again.
struct StrandedWatch: Sendable {
    let engine: ProcessorEngine
    let interval: Duration
    let logger: Logger

    /// Looks until cancelled.
    func run() async {
        var previous: StrandedTasks.Finding?
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            let finding: StrandedTasks.Finding?
            do throws(ProtoqueueError) {
                finding = try await look()
            } catch {
                logger.debug("cannot look for stranded tasks", metadata: ["protoqueue.error": "\(error)"])
                previous = nil
                // The consumer is gone, say after a recovery whose creation timed out: have it created again (a
                // stream that is gone stops the processor there).
                if error.code == .streamNotFound {
                    engine.deliveries.checkConsumer(of: engine, reason: "looking for stranded tasks: \(error.message)")
                }
                continue
            }
            if StrandedTasks.confirmed(finding, previous: previous), let finding {
                await recover(finding)
                previous = nil
            } else {
                previous = finding
            }
        }
    }

    private func look() async throws(ProtoqueueError) -> StrandedTasks.Finding? {
        let layout = engine.layout
        let transport = engine.transport
        guard let stream = try await transport.streamState(layout.streamName) else { return nil }
        let consumer = try await transport.consumerState(stream: layout.streamName, consumer: layout.consumerName)
        var first: UInt64?
        let reads = StrandedTasks.needsFirstMessage(
            streamFirst: stream.firstSequence, streamLast: stream.lastSequence, consumer: consumer)
        if reads {
            for filter in layout.consumerFilters {
                let found = try await transport.message(
                    stream: layout.streamName, atOrAfter: stream.firstSequence, subject: filter,
                    operation: "look for stranded tasks of consumer \"\(layout.consumerName)\"")
                if let found, found.sequence < first ?? .max { first = found.sequence }
            }
        }
        let finding = StrandedTasks.finding(
            streamLast: stream.lastSequence, consumer: consumer, firstOnFilter: first)
        logger.debug(
            "looked for stranded tasks",
            metadata: [
                "protoqueue.consumer": "\(layout.consumerName)",
                "protoqueue.stream": "\(stream.messages) messages, \(stream.firstSequence)...\(stream.lastSequence)",
                "protoqueue.consumerState": .string(
                    "delivered \(consumer.deliveredSequence), floor \(consumer.ackFloorSequence), "
                        + "\(consumer.ackPending) awaiting acknowledgement, \(consumer.pending) pending"),
                "protoqueue.firstOnFilter": "\(first.map(String.init) ?? (reads ? "none" : "not read"))",
                "protoqueue.stranded": "\(finding.map(String.init(describing:)) ?? "none")",
            ])
        return finding
    }

    private func recover(_ finding: StrandedTasks.Finding) async {
        let layout = engine.layout
        let metadata: Logger.Metadata = [
            "protoqueue.consumer": "\(layout.consumerName)", "protoqueue.stranded": "\(finding)",
        ]
        do throws(ProtoqueueError) {
            let pause = try await engine.transport.consumerPause(
                stream: layout.streamName, consumer: layout.consumerName)
            if pause.paused {
                logger.warning("stranded tasks wait until the queue is resumed", metadata: metadata)
                return
            }
            logger.warning(
                "the server left stored tasks its consumer will not deliver; creating the consumer again",
                metadata: metadata)
            try await engine.transport.deleteConsumer(
                stream: layout.streamName, consumer: layout.consumerName,
                operation: "delete consumer \"\(layout.consumerName)\" to recover stranded tasks")
        } catch {
            logger.warning(
                "could not recover stranded tasks; looking again later",
                metadata: metadata.merging(["protoqueue.error": "\(error)"]) { $1 })
            return
        }
        engine.deliveries.checkConsumer(of: engine, reason: "recovering stranded tasks")
    }
}
