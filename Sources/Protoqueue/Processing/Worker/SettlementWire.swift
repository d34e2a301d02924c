import Logging

/// What a transport does to put one delivery's settlement on the wire: the acknowledgements and the publishes of
/// dead-letter records and scheduled copies. ``perform(_:of:)`` holds the transport-independent part (which
/// acknowledgement a settlement becomes, the record or copy and its headers, the `+TERM` or `+ACK` after it is
/// stored, the retry when storing it failed) for every transport.
protocol SettlementWire {
    /// Sends `+ACK` (a confirmed one when `confirmed`); returns an error text when it could not be sent.
    func acknowledge(confirmed: Bool) -> String?
    /// Sends `-NAK`, with `delay` when positive; returns an error text when it could not be sent.
    func negativelyAcknowledge(delay: Duration) -> String?
    /// Sends `+TERM`; returns an error text when it could not be sent.
    func terminate() -> String?
    /// Leaves a delivery whose ack window ran out (as the worker measured it) to the server, which delivers it again.
    func leave()
    /// Every header of the delivered message, in order.
    func originalHeaders() -> [(name: String, value: String)]
    /// The delivered message's body.
    func originalBody() -> [UInt8]
    /// Publishes a dead-letter record or a scheduled copy and waits for the server to store it.
    func publishAndWait(_ message: PreparedMessage) throws(ProtoqueueError)
}

extension SettlementWire {
    /// Puts `settlement` of `delivery` on the wire.
    /// - Returns: What the server was told.
    func perform(_ settlement: Settlement, of delivery: Delivery) -> TaskSettlement.Outcome {
        let engine = delivery.engine
        var failure: String?
        var outcome: TaskSettlement.Outcome
        switch settlement {
        case .ack:
            failure = acknowledge(confirmed: engine.confirmedAcks)
            outcome = .acknowledged
        case .nak(let delay):
            failure = negativelyAcknowledge(delay: delay)
            outcome = .retried(after: max(.zero, delay))
        case .reschedule(let delay):
            (failure, outcome) = reschedule(delivery, after: delay)
        case .promote:
            (failure, outcome) = promote(delivery)
        case .discard(let reason):
            failure = terminate()
            outcome = .terminated(reason: reason)
        case .abandon:
            leave()
            outcome = .unsettled(error: "waited past its ack window before a handler was free; left to the server")
        case .deadLetter(let reason, let error, let details):
            let original = originalHeaders()
            let record = delivery.deadLetterRecord(
                reason: reason, error: error, details: details,
                priorAttempts: ScheduledCopy.priorAttempts(in: original))
            guard engine.deadLettersEnabled else {
                engine.logger.error(
                    "task failed; dead letters are disabled, so it is terminated and dropped",
                    metadata: [
                        "protoqueue.reason": "\(reason)", "protoqueue.error": "\(error)",
                        "protoqueue.sequence": "\(record.sequence)",
                    ]
                )
                failure = terminate()
                outcome = .terminated(reason: "\(reason): \(error) (dead letters are disabled)")
                break
            }
            do throws(ProtoqueueError) {
                try publishAndWait(
                    record.prepared(original: original, body: originalBody(), to: engine.layout.deadLetterSubject))
                engine.logger.debug(
                    "task dead-lettered",
                    metadata: [
                        "protoqueue.reason": "\(record.reason)", "protoqueue.sequence": "\(record.sequence)",
                        "protoqueue.attempt": "\(record.attempts)",
                    ]
                )
                failure = terminate()
                outcome = .deadLettered(reason: reason, error: record.error)
            } catch {
                // Never lose it: it comes back after a pause and is dead-lettered again (same Nats-Msg-Id, so
                // stored once).
                engine.logger.error(
                    "dead-letter publish failed; the task will be retried",
                    metadata: ["protoqueue.error": "\(error)", "protoqueue.sequence": "\(record.sequence)"]
                )
                failure = negativelyAcknowledge(delay: .seconds(1))
                outcome = .retried(after: .seconds(1))
            }
        }
        if let failure {
            engine.logger.warning(
                "acknowledgement failed; the task will be redelivered after the ack wait",
                metadata: ["protoqueue.result": "\(settlement.name)", "protoqueue.status": "\(failure)"]
            )
            outcome = .unsettled(error: failure)
        }
        return outcome
    }

    /// Stores the task's retry on the scheduled subject, then acknowledges the delivery; when the retry cannot be
    /// stored, the delivery is returned with the delay instead (holding its ack-pending slot, never lost).
    private func reschedule(_ delivery: Delivery, after delay: Duration) -> (String?, TaskSettlement.Outcome) {
        let engine = delivery.engine
        let metadata = delivery.message.metadata()
        let original = originalHeaders()
        let copy = ScheduledCopy.retry(
            of: original, body: originalBody(), taskSubject: delivery.message.subject, layout: engine.layout,
            stream: metadata.stream, sequence: metadata.streamSequence,
            attempts: ScheduledCopy.priorAttempts(in: original) + Int(clamping: metadata.deliveries),
            notBefore: engine.transport.scheduleClockMilliseconds() + delay.milliseconds)
        do throws(ProtoqueueError) {
            try publishAndWait(copy)
            return (acknowledge(confirmed: engine.confirmedAcks), .retried(after: delay))
        } catch {
            engine.logger.warning(
                "could not store the retry on the scheduled subject; returning the task with the delay instead",
                metadata: ["protoqueue.error": "\(error)", "protoqueue.sequence": "\(metadata.streamSequence)"])
            return (negativelyAcknowledge(delay: delay), .retried(after: delay))
        }
    }

    /// Stores a due scheduled task's copy on its ready subject, then acknowledges it; when the copy cannot be
    /// stored, the scheduled task comes back after a second.
    private func promote(_ delivery: Delivery) -> (String?, TaskSettlement.Outcome) {
        let engine = delivery.engine
        let metadata = delivery.message.metadata()
        let copy = ScheduledCopy.due(
            of: originalHeaders(), body: originalBody(), scheduledSubject: delivery.message.subject,
            layout: engine.layout, stream: metadata.stream, sequence: metadata.streamSequence)
        do throws(ProtoqueueError) {
            try publishAndWait(copy)
            return (acknowledge(confirmed: false), .acknowledged)
        } catch {
            engine.logger.warning(
                "could not move a due task to its ready subject; trying again in a second",
                metadata: ["protoqueue.error": "\(error)", "protoqueue.sequence": "\(metadata.streamSequence)"])
            return (negativelyAcknowledge(delay: .seconds(1)), .retried(after: .seconds(1)))
        }
    }
}

extension DeadLetterRecord {
    /// The record as a message for the dead-letter `subject`: the task's body, its headers with the failure
    /// headers (``headers(original:)``), and a `Nats-Msg-Id` derived from the task's stream and sequence, so that a
    /// record sent again (after a timeout, or when the task comes back) is stored once.
    func prepared(original: [(name: String, value: String)], body: [UInt8], to subject: String) -> PreparedMessage {
        let messageID = WireFormat.deadLetterMessageID(stream: stream, sequence: sequence)
        var headers = headers(original: original)
        headers.append((WireFormat.Header.messageID, messageID))
        return PreparedMessage(subject: subject, headers: headers, body: body, id: TaskID(messageID))
    }
}
