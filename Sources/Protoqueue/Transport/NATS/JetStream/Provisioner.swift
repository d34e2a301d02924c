import CNats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Creates the queue's stream and consumer when missing, verifies them when present, and never updates or deletes.
/// Runs on a connection thread (every call here blocks on a JetStream API request).
enum Provisioner {
    static func provision(
        connection: OpaquePointer,
        js: OpaquePointer,
        requestTimeout: Duration,
        layout: QueueLayout,
        configuration: QueueConfiguration,
        create: Bool,
        events: ConnectionEvents
    ) throws(ProtoqueueError) -> ProvisionedStream {
        let started = MonotonicClock.nanoseconds()
        do throws(ProtoqueueError) {
            let (stream, createdStream) = try ensureStream(
                js: js, layout: layout, configuration: configuration, create: create)
            let createdConsumer =
                layout.tierNames == nil
                ? try ensureConsumer(js: js, layout: layout, configuration: configuration, create: create)
                : try TierConsumers.ensure(
                    connection, layout: layout, configuration: configuration, create: create, timeout: requestTimeout)
            _ = try ensureConsumer(js: js, layout: layout.scheduledTasks, configuration: configuration, create: create)
            if configuration.deadLetter.enabled {
                try ensureDeadLetterStream(js: js, layout: layout, configuration: configuration, create: create)
            }
            return ProvisionedStream(
                maxMessageSize: stream, createdStream: createdStream, createdConsumer: createdConsumer)
        } catch {
            // A JetStream API request the user may not make times out; the real cause arrives asynchronously.
            if error.code == .timeout, let violation = events.recentViolation(since: started, explaining: .jetStreamAPI)
            {
                throw NATSErrorMapping.permissionDenied(
                    operation: "provision stream \"\(layout.streamName)\"", violation: violation)
            }
            throw error
        }
    }

    /// The error for what provisioning ``Provisioning/verify`` found missing.
    static func missing(_ what: String) -> ProtoqueueError {
        ProtoqueueError(
            .streamNotFound,
            "\(what) does not exist, and the queue was opened with provisioning \"verify\", which creates nothing")
    }

    // MARK: Stream

    private struct StreamSettings: Equatable {
        var subjects: [String]
        /// What a stream made before lifecycle events captures: accepted while events are off.
        var legacySubjects: [String]
        var eventsEnabled: Bool
        var retention: Int
        var storage: Int
        var replicas: Int64
        var maxAge: Int64
        var maxBytes: Int64
        var maxMessages: Int64
        var maxMessageSize: Int32
        var duplicates: Int64
        var discard: Int

        init(layout: QueueLayout, configuration: QueueConfiguration) {
            subjects = layout.streamSubjects
            legacySubjects = layout.legacyStreamSubjects
            eventsEnabled = configuration.events.isEnabled
            retention = configuration.retention.raw
            storage = configuration.storage.raw
            replicas = Int64(configuration.replicas)
            maxAge = configuration.maxAge?.nanoseconds ?? 0
            maxBytes = configuration.maxBytes ?? -1
            maxMessages = configuration.maxMessages ?? -1
            maxMessageSize = configuration.maxMessageSize ?? -1
            duplicates = configuration.duplicateWindow.nanoseconds
            // A full queue refuses new tasks rather than silently dropping the oldest ones.
            discard = Int(js_DiscardNew.rawValue)
        }

        init(existing config: jsStreamConfig) {
            subjects = (0..<Int(config.SubjectsLen)).compactMap { config.Subjects[$0].map { String(cString: $0) } }
            legacySubjects = []
            eventsEnabled = false
            retention = Int(config.Retention.rawValue)
            storage = Int(config.Storage.rawValue)
            replicas = max(1, config.Replicas)
            maxAge = config.MaxAge
            maxBytes = config.MaxBytes <= 0 ? -1 : config.MaxBytes
            maxMessages = config.MaxMsgs <= 0 ? -1 : config.MaxMsgs
            maxMessageSize = config.MaxMsgSize <= 0 ? -1 : config.MaxMsgSize
            duplicates = config.Duplicates
            discard = Int(config.Discard.rawValue)
        }

        func differences(from existing: StreamSettings) -> [String] {
            var list: [String] = []
            func add(_ name: String, _ have: String, _ want: String) {
                list.append("\(name): existing \(have), configured \(want)")
            }
            func limit(_ value: Int64) -> String { value < 0 ? "unlimited" : "\(value)" }
            func duration(_ ns: Int64) -> String { ns == 0 ? "unlimited" : "\(Duration.nanoseconds(ns))" }
            let legacy = existing.subjects == legacySubjects
            if Set(existing.subjects) != Set(subjects) && !(legacy && !eventsEnabled) {
                let note = legacy ? " (the existing subjects would store the queue's lifecycle events)" : ""
                add("subjects", "\(existing.subjects)", "\(subjects)\(note)")
            }
            if existing.retention != retention {
                add(
                    "retention", QueueConfiguration.Retention(raw: existing.retention).description,
                    QueueConfiguration.Retention(raw: retention).description)
            }
            if existing.storage != storage {
                add(
                    "storage", QueueConfiguration.Storage(raw: existing.storage).description,
                    QueueConfiguration.Storage(raw: storage).description)
            }
            if existing.replicas != replicas { add("replicas", "\(existing.replicas)", "\(replicas)") }
            if existing.maxAge != maxAge { add("maxAge", duration(existing.maxAge), duration(maxAge)) }
            if existing.maxBytes != maxBytes { add("maxBytes", limit(existing.maxBytes), limit(maxBytes)) }
            if existing.maxMessages != maxMessages {
                add("maxMessages", limit(existing.maxMessages), limit(maxMessages))
            }
            if existing.maxMessageSize != maxMessageSize {
                add("maxMessageSize", limit(Int64(existing.maxMessageSize)), limit(Int64(maxMessageSize)))
            }
            if existing.duplicates != duplicates {
                add("duplicateWindow", duration(existing.duplicates), duration(duplicates))
            }
            if existing.discard != discard {
                add("discard", existing.discard == 0 ? "old" : "new", discard == 0 ? "old" : "new")
            }
            return list
        }
    }

    private static func ensureStream(
        js: OpaquePointer,
        layout: QueueLayout,
        configuration: QueueConfiguration,
        create: Bool
    ) throws(ProtoqueueError) -> (maxMessageSize: Int?, created: Bool) {
        let wanted = StreamSettings(layout: layout, configuration: configuration)
        for attempt in 0..<2 {
            if let existing = try streamSettings(js: js, name: layout.streamName) {
                let differences = wanted.differences(from: existing.settings)
                guard differences.isEmpty else {
                    throw ProtoqueueError(
                        .configurationMismatch,
                        "stream \"\(layout.streamName)\" exists (\(existing.messages) messages) with a different "
                            + "configuration; it was left unchanged. Differences: "
                            + differences.joined(separator: "; ")
                    )
                }
                return (existing.settings.maxMessageSize < 0 ? nil : Int(existing.settings.maxMessageSize), false)
            }
            guard create else { throw missing("stream \"\(layout.streamName)\"") }
            if attempt == 1 { break }
            var config = jsStreamConfig()
            jsStreamConfig_Init(&config)
            var jerr = jsErrCode(0)
            var info: UnsafeMutablePointer<jsStreamInfo>?
            let status: natsStatus = layout.streamName.withCString { name in
                withCStrings(wanted.subjects) { subjects in
                    config.Name = name
                    config.Subjects = subjects
                    config.SubjectsLen = Int32(wanted.subjects.count)
                    config.Retention = jsRetentionPolicy(UInt32(wanted.retention))
                    config.Storage = jsStorageType(UInt32(wanted.storage))
                    config.Replicas = wanted.replicas
                    config.MaxAge = wanted.maxAge
                    config.MaxBytes = wanted.maxBytes
                    config.MaxMsgs = wanted.maxMessages
                    config.MaxMsgSize = wanted.maxMessageSize
                    config.Duplicates = wanted.duplicates
                    config.Discard = jsDiscardPolicy(UInt32(wanted.discard))
                    return js_AddStream(&info, js, &config, nil, &jerr)
                }
            }
            if let info { jsStreamInfo_Destroy(info) }
            if status == NATS_OK { return (wanted.maxMessageSize < 0 ? nil : Int(wanted.maxMessageSize), true) }
            // Someone created it at the same moment: compare with theirs.
            if Int(jerr.rawValue) == NATSErrorMapping.JetStreamCode.streamNameInUse { continue }
            throw NATSErrorMapping.error(
                status: status, jsCode: Int(jerr.rawValue),
                operation: "create stream \"\(layout.streamName)\" for \(wanted.subjects)")
        }
        throw ProtoqueueError(.natsError, "stream \"\(layout.streamName)\" could not be created or read")
    }

    private static func streamSettings(
        js: OpaquePointer, name: String
    ) throws(ProtoqueueError) -> (settings: StreamSettings, messages: UInt64)? {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jerr = jsErrCode(0)
        let status = js_GetStreamInfo(&info, js, name, nil, &jerr)
        defer { if let info { jsStreamInfo_Destroy(info) } }
        if NATSErrorMapping.isNotFound(.stream, status: status, jsCode: Int(jerr.rawValue)) { return nil }
        guard status == NATS_OK, let info, let config = info.pointee.Config else {
            throw NATSErrorMapping.error(
                status: status, jsCode: Int(jerr.rawValue), operation: "read stream \"\(name)\"")
        }
        return (StreamSettings(existing: config.pointee), info.pointee.State.Msgs)
    }

    // MARK: Consumer

    static func ensureConsumer(
        js: OpaquePointer, layout: QueueLayout, configuration: QueueConfiguration, create: Bool = true
    ) throws(ProtoqueueError) -> Bool {
        let settings = ConsumerSettings(layout: layout, configuration: configuration)
        let scheduled = layout.isScheduledTasks
        let wantedBackoff = settings.backoff.map(\.nanoseconds)
        let wantedAckWait = settings.ackWait
        let wantedMaxDeliver = settings.maxDeliver.map(Int64.init) ?? -1
        // nats.c 3.4.1 sends no max_ack_pending of -1, so "unlimited" is asked for as the largest 32-bit count; -1
        // made elsewhere is accepted.
        let wantedMaxAckPending = settings.maxAckPending.map(Int64.init) ?? Int64(Int32.max)
        for attempt in 0..<2 {
            var info: UnsafeMutablePointer<jsConsumerInfo>?
            var jerr = jsErrCode(0)
            let status = js_GetConsumerInfo(&info, js, layout.streamName, layout.consumerName, nil, &jerr)
            defer { if let info { jsConsumerInfo_Destroy(info) } }
            if status == NATS_OK, let info, let config = info.pointee.Config?.pointee {
                var differences: [String] = []
                func add(_ name: String, _ have: String, _ want: String) {
                    differences.append("\(name): existing \(have), configured \(want)")
                }
                if config.DeliverSubject != nil { add("type", "push consumer", "pull consumer") }
                if config.AckPolicy != js_AckExplicit { add("ackPolicy", "\(config.AckPolicy.rawValue)", "explicit") }
                let filter = config.FilterSubject.map { String(cString: $0) } ?? ""
                if filter != layout.consumerFilter {
                    add("filterSubject", "\"\(filter)\"", "\"\(layout.consumerFilter)\"")
                }
                let backoff = (0..<Int(config.BackOffLen)).map { config.BackOff[$0] }
                if backoff != wantedBackoff {
                    add(
                        "backoff", "\(backoff.map { Duration.nanoseconds($0) })",
                        "\(wantedBackoff.map { Duration.nanoseconds($0) })")
                }
                if wantedBackoff.isEmpty && config.AckWait != wantedAckWait.nanoseconds {
                    add("ackWait", "\(Duration.nanoseconds(config.AckWait))", "\(wantedAckWait)")
                }
                let maxDeliver = config.MaxDeliver <= 0 ? -1 : config.MaxDeliver
                if maxDeliver != wantedMaxDeliver {
                    // Shown in attempts, as configured (the server holds attempts + grace deliveries).
                    func attempts(_ value: Int64) -> String {
                        value < 0 ? "unlimited" : "\(value - Int64(QueueLayout.graceDeliveries))"
                    }
                    if scheduled {
                        add("maxDeliver", "\(maxDeliver)", "unlimited")
                    } else {
                        add("maxDeliveries", attempts(maxDeliver), attempts(wantedMaxDeliver))
                    }
                }
                let maxAckPending = config.MaxAckPending <= 0 ? -1 : config.MaxAckPending
                if maxAckPending != wantedMaxAckPending && !(settings.maxAckPending == nil && maxAckPending < 0) {
                    func limit(_ value: Int64) -> String { value < 0 || value == Int32.max ? "unlimited" : "\(value)" }
                    add("maxAckPending", limit(maxAckPending), limit(wantedMaxAckPending))
                }
                guard differences.isEmpty else {
                    throw ProtoqueueError(
                        .configurationMismatch,
                        "consumer \"\(layout.consumerName)\" on stream \"\(layout.streamName)\" exists with a "
                            + "different configuration; it was left unchanged. Differences: "
                            + differences.joined(separator: "; ")
                    )
                }
                return false
            }
            let notFound = NATSErrorMapping.isNotFound(.consumer, status: status, jsCode: Int(jerr.rawValue))
            guard notFound else {
                throw NATSErrorMapping.error(
                    status: status, jsCode: Int(jerr.rawValue), operation: "read consumer \"\(layout.consumerName)\"")
            }
            guard create else {
                throw missing("consumer \"\(layout.consumerName)\" on stream \"\(layout.streamName)\"")
            }
            if attempt == 1 { break }
            var config = jsConsumerConfig()
            jsConsumerConfig_Init(&config)
            var created: UnsafeMutablePointer<jsConsumerInfo>?
            var createError = jsErrCode(0)
            var backoff = wantedBackoff
            let createStatus: natsStatus = layout.consumerName.withCString { name in
                layout.consumerFilter.withCString { filter in
                    backoff.withUnsafeMutableBufferPointer { backoffBuffer in
                        config.Durable = name
                        config.AckPolicy = js_AckExplicit
                        config.DeliverPolicy = js_DeliverAll
                        config.AckWait = wantedAckWait.nanoseconds
                        config.MaxDeliver = wantedMaxDeliver
                        config.MaxAckPending = wantedMaxAckPending
                        config.FilterSubject = filter
                        if !backoffBuffer.isEmpty {
                            config.BackOff = backoffBuffer.baseAddress
                            config.BackOffLen = Int32(backoffBuffer.count)
                        }
                        return js_AddConsumer(&created, js, layout.streamName, &config, nil, &createError)
                    }
                }
            }
            if let created { jsConsumerInfo_Destroy(created) }
            if createStatus == NATS_OK { return true }
            // Created concurrently by another process (same name, maybe other settings): compare on the next pass.
            if Int(createError.rawValue) == 10148 || Int(createError.rawValue) == 10013 { continue }
            throw NATSErrorMapping.error(
                status: createStatus, jsCode: Int(createError.rawValue),
                operation: "create consumer \"\(layout.consumerName)\" on stream \"\(layout.streamName)\"")
        }
        throw ProtoqueueError(.natsError, "consumer \"\(layout.consumerName)\" could not be created or read")
    }
}

/// Calls `body` with a C array of C strings that lives for the duration of the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicates = strings.map { UnsafePointer(strdup($0)) }
    defer { duplicates.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
    var array: [UnsafePointer<CChar>?] = duplicates
    return array.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}
