import CNats

/// The library's own inboxes: a unique name, and a subscription below it whose pending limits are off (every
/// caller bounds what can arrive: a window of publishes, the free slots of processors).
/// What an asynchronous subscription's C handler holds as its closure (the owner keeps it alive): a weak reference
/// to the owner, set right after the subscription is made. A message arriving after the owner stopped or went finds
/// nothing, and the handler only frees it.
final class SubscriptionTarget<Owner: AnyObject & Sendable>: @unchecked Sendable {
    weak var owner: Owner?

    /// The pointer to pass to nats.c as the handler's closure.
    var closure: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// The owner a handler's `closure` leads to, if it is still there.
    static func owner(of closure: UnsafeMutableRawPointer?) -> Owner? {
        closure.flatMap { Unmanaged<SubscriptionTarget>.fromOpaque($0).takeUnretainedValue().owner }
    }
}

enum NATSInbox {
    /// A new unique inbox name (`_INBOX.<unique>`); `purpose` names it in errors.
    static func makeName(for purpose: String) throws(ProtoqueueError) -> String {
        var inbox: UnsafeMutablePointer<natsInbox>?
        let status = natsInbox_Create(&inbox)
        guard status == NATS_OK, let inbox else {
            throw NATSErrorMapping.error(status: status, operation: "create \(purpose)")
        }
        defer { natsInbox_Destroy(inbox) }
        return String(cString: inbox)
    }

    /// Subscribes to `subject` on `connection`: asynchronously when `handler` is given (nats.c calls it on a
    /// delivery thread with `closure`), else synchronously. Pending limits are off.
    /// - Returns: The `natsSubscription*`.
    static func subscribe(
        _ connection: OpaquePointer, to subject: String, handler: natsMsgHandler? = nil,
        closure: UnsafeMutableRawPointer? = nil, purpose: String
    ) throws(ProtoqueueError) -> OpaquePointer {
        var subscription: OpaquePointer?
        let status =
            if let handler {
                natsConnection_Subscribe(&subscription, connection, subject, handler, closure)
            } else {
                natsConnection_SubscribeSync(&subscription, connection, subject)
            }
        guard status == NATS_OK, let subscription else {
            throw NATSErrorMapping.error(
                status: status, operation: "subscribe to \(purpose) \"\(subject)\"", subject: subject)
        }
        natsSubscription_SetPendingLimits(subscription, -1, -1)
        return subscription
    }
}
