import CNats

/// Looks at a running processor's durable consumer when the server says it may be gone, and re-creates it with the
/// queue's configuration (the queue was opened with provisioning).
///
/// A consumer can be deleted under a running worker by an operator or a tool; without this the worker would send
/// pull requests nobody answers until stopped. A work stream that is gone is not re-created: ``check()`` throws
/// ``ProtoqueueError/Code/streamNotFound`` and the processor stops with it.
final class ConsumerWatch: @unchecked Sendable {
    enum State: Equatable {
        /// The consumer exists (the server ended a request for another reason).
        case present
        /// It was gone and has been created again.
        case recreated
    }

    private let jetStream: OpaquePointer  // jsCtx*, owned
    private let layout: QueueLayout
    private let configuration: QueueConfiguration

    /// Takes ownership of `jetStream`.
    init(jetStream: OpaquePointer, layout: QueueLayout, configuration: QueueConfiguration) {
        self.jetStream = jetStream
        self.layout = layout
        self.configuration = configuration
    }

    deinit { jsCtx_Destroy(jetStream) }

    /// Whether the consumer still exists, re-creating it when it does not. Blocks: call it on a library thread.
    /// - Throws: A ``ProtoqueueError`` naming the consumer when it is gone and cannot be re-created (its stream
    ///   was deleted, or the user may not create consumers).
    func check() throws(ProtoqueueError) -> State {
        do throws(ProtoqueueError) {
            return try Provisioner.ensureConsumer(js: jetStream, layout: layout, configuration: configuration)
                ? .recreated : .present
        } catch {
            throw ProtoqueueError(
                error.code,
                "consumer \"\(layout.consumerName)\" of stream \"\(layout.streamName)\" is gone and could not be "
                    + "re-created: \(error.message)",
                natsStatus: error.natsStatus, jetStreamErrorCode: error.jetStreamErrorCode
            )
        }
    }
}
