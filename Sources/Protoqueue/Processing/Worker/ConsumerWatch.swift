/// Looks at a running processor's durable consumer when the server says it may be gone, and re-creates it with the
/// queue's configuration.
///
/// A consumer can be deleted under a running worker by an operator or a tool; without this the worker would send
/// pull requests nobody answers until stopped. A work stream that is gone is not re-created: ``check(ensure:)``
/// throws ``ProtoqueueError/Code/streamNotFound`` and the processor stops with it.
struct ConsumerWatch: Sendable {
    enum State {
        /// The consumer exists (the server ended a request for another reason).
        case present
        /// It was gone and has been created again.
        case recreated
        /// The server could not say (a timeout, JetStream unavailable during a leader election...): try later.
        case unknown(ProtoqueueError)
    }

    /// Errors that say for sure that the consumer cannot serve again: the rest may pass.
    private static let definitive: Set<ProtoqueueError.Code> = [
        .streamNotFound, .permissionDenied, .configurationMismatch, .invalidConfiguration, .jetStreamNotEnabled,
    ]

    let layout: QueueLayout

    /// Whether the consumer still exists, re-creating it when it does not.
    /// - Parameter ensure: Creates the consumer when missing and says whether it did (the transport's
    ///   provisioning of this one consumer). Blocks: call it on a library thread.
    /// - Throws: A ``ProtoqueueError`` naming the consumer when it is gone and cannot be re-created (its stream
    ///   was deleted, or the user may not create consumers); other failures are ``State/unknown(_:)``.
    func check(ensure: () throws(ProtoqueueError) -> Bool) throws(ProtoqueueError) -> State {
        do throws(ProtoqueueError) {
            return try ensure() ? .recreated : .present
        } catch {
            guard Self.definitive.contains(error.code) else { return .unknown(error) }
            throw ProtoqueueError(
                error.code,
                "consumer \"\(layout.consumerName)\" of stream \"\(layout.streamName)\" is gone and could not be "
                    + "re-created: \(error.message)",
                natsStatus: error.natsStatus, jetStreamErrorCode: error.jetStreamErrorCode
            )
        }
    }
}
