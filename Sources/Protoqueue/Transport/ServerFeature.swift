/// A server feature the library uses only where the server has it, detected by the JetStream API level
/// (`$JS.API.INFO`, ``QueueTransport/jetStreamAPILevel()``) before use: old servers accept unknown fields and
/// headers silently.
struct ServerFeature: Sendable {
    /// What needs it, for the error ("pausing", "priority tiers").
    let name: String
    /// The API level that has it.
    let apiLevel: Int
    /// The first nats-server version with that level.
    let version: String

    /// Consumer pause (`$JS.API.CONSUMER.PAUSE`).
    static let consumerPause = ServerFeature(name: "pausing", apiLevel: 1, version: "2.11")
    /// Consumers with several filter subjects, as priority tiers have (`filter_subjects`, detected by the level of
    /// 2.11, the first to report one).
    static let priorityTiers = ServerFeature(name: "priority tiers", apiLevel: 1, version: "2.11")

    /// Throws ``ProtoqueueCodec/ProtoqueueError/Code/unsupportedByServer`` naming the version needed when the server
    /// reports API level `level`, below this feature's.
    /// - Parameter operation: What was being done ("pause queue \"emails\"").
    func check(level: Int, operation: String) throws(ProtoqueueError) {
        guard level < apiLevel else { return }
        throw ProtoqueueError(
            .unsupportedByServer,
            "\(operation): \(name) needs nats-server \(version) or later (JetStream API level \(apiLevel)); the "
                + "server reports \(level == 0 ? "none (2.10 or earlier)" : "\(level)")")
    }
}
