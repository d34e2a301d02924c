/// One lifecycle event on its way through an ``EventOutbox``: the ``TaskEvent`` fields that differ from event to
/// event. The queue and the task type, the same for every event of an outbox, are written once by its
/// ``TaskEventBatchWriter``, so an event costs no copies of them and no unknown fields while it waits.
struct LifecycleEvent: Sendable, Equatable {
    var kind: TaskEvent.Kind = .unspecified
    var taskID = ""
    var sequence: UInt64 = 0
    var attempt: UInt32 = 0
    var timeUnixMs: Int64 = 0
    var retryDelayMs: UInt64 = 0
    var reason = ""
    var error = ""
    var runTimeUs: UInt64 = 0
    var pausedUntilUnixMs: Int64 = 0
}
