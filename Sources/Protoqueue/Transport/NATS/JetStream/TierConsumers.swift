import Foundation

/// Creates and verifies the consumers of a queue's priority tiers: one per tier, each filtering two subjects
/// (`<subject>.ready.<tier>` and `<subject>.ready.<tier>.>`). nats.c 3.4.1 has no field for several filter subjects,
/// so these go through the JSON API (``JetStreamJSONAPI``); the server needs ``ServerFeature/priorityTiers``.
/// Blocking: runs on a connection thread.
enum TierConsumers {
    /// Ensures every tier consumer of `layout`; returns whether one was created.
    static func ensure(
        _ connection: OpaquePointer, layout: QueueLayout, configuration: QueueConfiguration, create: Bool,
        timeout: Duration
    ) throws(ProtoqueueError) -> Bool {
        try ServerFeature.priorityTiers.check(
            level: try JetStreamJSONAPI.apiLevel(connection, timeout: timeout),
            operation: "provision the tier consumers of stream \"\(layout.streamName)\"")
        if try JetStreamJSONAPI.consumerConfig(
            connection, stream: layout.streamName, consumer: layout.consumerName, timeout: timeout) != nil
        {
            throw ProtoqueueError(
                .configurationMismatch,
                "stream \"\(layout.streamName)\" has the consumer \"\(layout.consumerName)\" of a queue without "
                    + "priority tiers, whose filter overlaps every tier's; it was left unchanged. Delete it (once its "
                    + "tasks are done) to use tiers")
        }
        var created = false
        for tier in layout.workerConsumers {
            created =
                try ensure(connection, tier: tier, configuration: configuration, create: create, timeout: timeout)
                || created
        }
        return created
    }

    /// Ensures the consumer of one tier (`layout` is ``QueueLayout/tier(_:)``'s); returns whether it was created.
    static func ensure(
        _ connection: OpaquePointer, tier layout: QueueLayout, configuration: QueueConfiguration, create: Bool,
        timeout: Duration
    ) throws(ProtoqueueError) -> Bool {
        let wanted = wantedConfig(layout, configuration: configuration)
        for attempt in 0..<2 {
            if let existing = try JetStreamJSONAPI.consumerConfig(
                connection, stream: layout.streamName, consumer: layout.consumerName, timeout: timeout)
            {
                let differences = self.differences(existing: existing, wanted: wanted)
                guard differences.isEmpty else {
                    throw ProtoqueueError(
                        .configurationMismatch,
                        "consumer \"\(layout.consumerName)\" on stream \"\(layout.streamName)\" exists with a "
                            + "different configuration; it was left unchanged. Differences: "
                            + differences.joined(separator: "; "))
                }
                return false
            }
            guard create else {
                throw Provisioner.missing("consumer \"\(layout.consumerName)\" on stream \"\(layout.streamName)\"")
            }
            if attempt == 1 { break }
            do throws(ProtoqueueError) {
                try JetStreamJSONAPI.createConsumer(
                    connection, stream: layout.streamName, consumer: layout.consumerName, config: wanted,
                    timeout: timeout)
                return true
            } catch  where error.jetStreamErrorCode == 10148 || error.jetStreamErrorCode == 10013 {
                // Created at the same moment by another process: compare with theirs.
                continue
            }
        }
        throw ProtoqueueError(.natsError, "consumer \"\(layout.consumerName)\" could not be created or read")
    }

    /// The JSON configuration of a tier's consumer, from its ``ConsumerSettings``.
    static func wantedConfig(_ layout: QueueLayout, configuration: QueueConfiguration) -> [String: Any] {
        let settings = ConsumerSettings(layout: layout, configuration: configuration)
        var config: [String: Any] = [
            "durable_name": layout.consumerName,
            "ack_policy": "explicit",
            "deliver_policy": "all",
            "filter_subjects": layout.consumerFilters,
            "ack_wait": settings.ackWait.nanoseconds,
            "max_deliver": settings.maxDeliver ?? -1,
            "max_ack_pending": settings.maxAckPending ?? -1,
        ]
        if !settings.backoff.isEmpty { config["backoff"] = settings.backoff.map(\.nanoseconds) }
        return config
    }

    /// What differs between an existing tier consumer's configuration and the wanted one, as `name: existing …,
    /// configured …` texts.
    static func differences(existing: [String: Any], wanted: [String: Any]) -> [String] {
        var differences: [String] = []
        func number(_ value: Any?) -> Int64 { (value as? NSNumber)?.int64Value ?? 0 }
        func add(_ name: String, _ have: Any, _ want: Any) {
            differences.append("\(name): existing \(have), configured \(want)")
        }
        if let deliver = existing["deliver_subject"] as? String, !deliver.isEmpty {
            add("type", "push consumer", "pull consumer")
        }
        let ackPolicy = existing["ack_policy"] as? String ?? ""
        if ackPolicy != "explicit" { add("ackPolicy", ackPolicy, "explicit") }
        let filters =
            existing["filter_subjects"] as? [String] ?? (existing["filter_subject"] as? String).map { [$0] } ?? []
        let wantedFilters = wanted["filter_subjects"] as? [String] ?? []
        if Set(filters) != Set(wantedFilters) { add("filterSubjects", filters, wantedFilters) }
        let backoff = (existing["backoff"] as? [NSNumber])?.map(\.int64Value) ?? []
        let wantedBackoff = (wanted["backoff"] as? [Int64]) ?? []
        if backoff != wantedBackoff { add("backoff", backoff, wantedBackoff) }
        if wantedBackoff.isEmpty && number(existing["ack_wait"]) != number(wanted["ack_wait"]) {
            add("ackWait", number(existing["ack_wait"]), number(wanted["ack_wait"]))
        }
        func limit(_ value: Int64) -> Int64 { value <= 0 ? -1 : value }
        for (key, name) in [("max_deliver", "maxDeliver"), ("max_ack_pending", "maxAckPending")]
        where limit(number(existing[key])) != limit(number(wanted[key])) {
            add(name, limit(number(existing[key])), limit(number(wanted[key])))
        }
        return differences
    }
}
