/// A task on its way to the server, as ``QueueMiddleware/willEnqueue(_:)`` sees it.
public struct OutgoingTask: Sendable {
    /// The queue's name.
    public let queue: String
    /// The full protobuf name of the task's message type.
    public let taskType: String
    /// The task.
    public let task: any ProtoqueueMessage
    /// The task's id: the one given in ``EnqueueOptions/id``, or the random one generated for it.
    public var id: TaskID
    /// The metadata (`Protoqueue-Meta-<key>` headers).
    public var metadata: [String: String]
    /// Extra headers to send with the task, such as W3C `traceparent` and `tracestate`. Names: 1–128 characters
    /// of `A–Z a–z 0–9 - _ .`, not starting with `Nats-` or `Protoqueue-` (those belong to the server and the
    /// library); values as for metadata. An invalid one fails the task with
    /// ``ProtoqueueCodec/ProtoqueueError/Code/invalidHeader``.
    public var headers: [String: String]
}
