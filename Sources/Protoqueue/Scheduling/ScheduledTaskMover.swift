import Logging

/// Runs the deliveries of a queue's scheduled-task consumer (``ScheduleDecision``): tasks not yet due go back to
/// the server until they are, due ones are moved to their ready subject. Runs no handler.
struct ScheduledTaskMover: Sendable {
    /// Deliveries the mover holds at once. Each is settled as soon as it is read, so a few suffice; the consumer's
    /// ack-pending set (unlimited) holds the tasks that wait.
    static let concurrency = 64
    /// The scheduled-task consumer's ack wait: a mover that dies while moving a task leaves it for this long.
    static let ackWait: Duration = .seconds(30)

    let transport: any QueueTransport
    let logger: Logger

    func run(_ delivery: Delivery) {
        guard delivery.claim() else {
            logger.error(
                "a scheduled task reached the mover a second time; the second run is skipped (a Protoqueue bug)")
            return
        }
        let received = delivery.read()
        let settlement = ScheduleDecision.settlement(
            notBefore: received.headers[WireFormat.notBeforeHeader], now: transport.scheduleClockMilliseconds())
        if case .deadLetter(_, let error, _) = settlement {
            logger.error(
                "scheduled task refused; dead-lettering it",
                metadata: ["protoqueue.error": "\(error)", "protoqueue.sequence": "\(received.streamSequence)"])
        }
        delivery.settle(settlement)
    }
}
