import Foundation

/// A stream's state.
struct StreamState: Sendable {
    var messages: UInt64
    var bytes: UInt64
    var firstSequence: UInt64
    var lastSequence: UInt64
    var consumerCount: Int
}

/// A consumer's counters.
struct ConsumerState: Sendable {
    var pending: UInt64
    var ackPending: Int64
    var redelivered: Int64
    var waitingPulls: Int64
    /// The consumer's `MaxAckPending`; 0 or less for unlimited.
    var maxAckPending: Int64
    /// The last stream sequence the consumer delivered.
    var deliveredSequence: UInt64 = 0
    /// The stream sequence up to which the consumer counts every delivered message as acknowledged.
    var ackFloorSequence: UInt64 = 0
}

/// Whether a consumer is paused (servers from 2.11), and until when.
struct ConsumerPause: Sendable, Equatable {
    var paused: Bool
    /// When the pause ends; `nil` when not paused.
    var until: Date?
}

/// A message read from a stream by sequence.
struct StoredMessage: Sendable {
    var subject: String
    var body: [UInt8]
    /// Every header with all its values, in order.
    var headers: [(name: String, value: String)]
    /// Its stream sequence.
    var sequence: UInt64

    /// The first value of each header.
    var firstHeaderValues: [String: String] {
        var first: [String: String] = [:]
        for (name, value) in headers where first[name] == nil { first[name] = value }
        return first
    }
}

/// What provisioning learned about the stream, kept by the ``Queue`` for checks before sending.
struct ProvisionedStream: Sendable {
    /// The stream's maximum message size, or `nil` when unlimited.
    var maxMessageSize: Int?
    /// Whether the stream or the consumer was created by this call.
    var createdStream: Bool
    var createdConsumer: Bool
}

/// Where a delivery came from and how often it was delivered.
struct DeliveryMetadata: Sendable, Equatable {
    var stream: String
    var consumer: String
    /// Deliveries so far, this one included.
    var deliveries: UInt64
    var streamSequence: UInt64
}

/// A fetched message as plain Swift values: what running its task needs.
struct ReceivedMessage: Sendable {
    var subject: String
    var data: [UInt8]
    var headers: ReceivedHeaders
    /// Deliveries so far, this one included.
    var deliveries: UInt64
    /// The stream sequence; 0 (which no stored message has) when the delivery's metadata could not be read.
    var streamSequence: UInt64
}

/// What the server said about a pull request without delivering (no reply subject): `100` idle heartbeat, `404` no
/// messages, `408` request expired, `409` request given up (consumer deleted, leadership change, server shutdown,
/// too many waiting requests...), `503` no responders.
struct PullStatus: Sendable {
    var code: String
    var description: String
    /// The number of the request it is about, when its reply subject names one.
    var request: UInt64?
}
