import CNats
import Synchronization

extension NATSClient {
    /// Publishes on the batched connection (opened on first use; this runs on a library thread): lifecycle events
    /// come by the hundred thousand, and one socket write each on the send-asap connection cost a busy worker about a
    /// third of its throughput.
    func publishCore(subject: String, body: [UInt8]) -> Bool {
        guard (try? beginCall()) != nil else { return false }
        defer { endCall() }
        guard let connection = try? batchedConnection().raw else { return false }
        let status = body.withUnsafeBytes { bytes in
            natsConnection_Publish(connection, subject, bytes.baseAddress, Int32(bytes.count))
        }
        return status == NATS_OK
    }

    func subscribeCore(
        subject: String, deliver: @escaping @Sendable ([UInt8], String) -> Void
    ) async throws(ProtoqueueError) -> any CoreSubscription {
        let receiver = CoreReceiver(deliver: deliver)
        let retired = self.retired
        return try await withHandles { connection, _ throws(ProtoqueueError) -> NATSCoreSubscription in
            let subscription = try NATSInbox.subscribe(
                connection, to: subject, handler: coreMessageArrived, closure: receiver.target.closure,
                purpose: "events")
            return NATSCoreSubscription(receiver: receiver, subscription: subscription, retired: retired)
        }
    }
}

/// What a core subscription's C handler reaches: the delivery closure.
final class CoreReceiver: Sendable {
    let deliver: @Sendable ([UInt8], String) -> Void
    let target = SubscriptionTarget<CoreReceiver>()

    init(deliver: @escaping @Sendable ([UInt8], String) -> Void) {
        self.deliver = deliver
        target.owner = self
    }
}

/// A core subscription on a ``NATSClient``; cancelling retires it (``RetiredSubscriptions``).
final class NATSCoreSubscription: CoreSubscription, @unchecked Sendable {
    private let receiver: CoreReceiver
    private let subscription: OpaquePointer  // natsSubscription*
    private let retired: RetiredSubscriptions
    private let cancelled = Atomic<Bool>(false)

    init(receiver: CoreReceiver, subscription: OpaquePointer, retired: RetiredSubscriptions) {
        self.receiver = receiver
        self.subscription = subscription
        self.retired = retired
    }

    func cancel() {
        guard !cancelled.exchange(true, ordering: .relaxed) else { return }
        receiver.target.owner = nil
        retired.retire(subscription)
    }
}

/// nats.c's callback for core subscriptions: hands the body and subject to the receiver, then frees the message.
private func coreMessageArrived(
    _ connection: OpaquePointer?, _ subscription: OpaquePointer?, _ message: OpaquePointer?,
    _ closure: UnsafeMutableRawPointer?
) {
    defer { natsMsg_Destroy(message) }
    guard let message, let receiver = SubscriptionTarget<CoreReceiver>.owner(of: closure) else { return }
    let length = Int(natsMsg_GetDataLength(message))
    let body: [UInt8] = natsMsg_GetData(message).map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
    receiver.deliver(body, String(cString: natsMsg_GetSubject(message)))
}
