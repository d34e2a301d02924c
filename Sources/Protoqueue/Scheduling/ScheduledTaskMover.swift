import Logging

/// Runs the deliveries of a queue's scheduled-task consumer (``ScheduleDecision``): tasks not yet due go back to
/// the server until shortly before they are, those due within ``ScheduleDecision/holdWindow`` wait here, due ones
/// are moved to their ready subject. Runs no handler.
struct ScheduledTaskMover: Sendable {
    /// Deliveries the mover holds at once: tasks due within the hold window, and those being settled.
    static let concurrency = 256
    /// The scheduled-task consumer's ack wait: a mover that dies while moving a task leaves it for this long.
    static let ackWait: Duration = .seconds(30)

    let transport: any QueueTransport
    let logger: Logger

    func run(_ delivery: Delivery) async {
        guard delivery.claim() else {
            logger.error(
                "a scheduled task reached the mover a second time; the second run is skipped (a Protoqueue bug)")
            return
        }
        let received = delivery.read()
        let notBefore = received.headers[WireFormat.notBeforeHeader]
        switch ScheduleDecision.step(notBefore: notBefore, now: transport.scheduleClockMilliseconds()) {
        case .hold(let wait):
            do {
                try await Task.sleep(for: wait)
            } catch {
                // Stopping: the server keeps it until it is due.
                delivery.settle(.nak(delay: wait))
                return
            }
            delivery.settle(.promote)
        case .settle(let settlement):
            if case .deadLetter(_, let error, _) = settlement {
                logger.error(
                    "scheduled task refused; dead-lettering it",
                    metadata: [
                        "protoqueue.error": "\(error)", "protoqueue.sequence": "\(received.streamSequence)",
                    ])
            }
            delivery.settle(settlement)
        }
    }
}
