import CNats
import Foundation

extension NATSClient: QueueTransport {
    func provision(
        _ layout: QueueLayout, configuration: QueueConfiguration, create: Bool
    ) async throws(ProtoqueueError) -> ProvisionedStream {
        let (events, timeout) = (self.events, self.configuration.requestTimeout)
        return try await withHandles { connection, js throws(ProtoqueueError) in
            try Provisioner.provision(
                connection: connection, js: js, requestTimeout: timeout, layout: layout,
                configuration: configuration, create: create, events: events)
        }
    }

    func streamSubjects() async throws(ProtoqueueError) -> [String: [String]] {
        let timeout = configuration.requestTimeout
        return try await withHandles { connection, _ throws(ProtoqueueError) in
            try JetStreamJSONAPI.streamSubjects(connection, timeout: timeout)
        }
    }

    func ensureRegistry(replicas: Int, create: Bool) async throws(ProtoqueueError) -> Bool {
        let timeout = configuration.requestTimeout
        return try await withHandles { connection, js throws(ProtoqueueError) in
            // A registry another process is creating right now may not take messages yet: the publishes to it are
            // sent again while no stream answers (PublishAttempts).
            if try JetStreamAPI.streamState(js, stream: QueueLayout.registryStreamName) != nil { return true }
            guard create else { return false }
            do throws(ProtoqueueError) {
                try JetStreamJSONAPI.createRegistryStream(connection, replicas: replicas, timeout: timeout)
            } catch {
                // Created by another process meanwhile: the server then answers "name in use" or, while the other
                // creation is under way, "subjects overlap".
                guard try JetStreamAPI.streamState(js, stream: QueueLayout.registryStreamName) != nil else {
                    throw error
                }
            }
            return true
        }
    }

    func streamState(_ stream: String) async throws(ProtoqueueError) -> StreamState? {
        try await withHandles { _, js throws(ProtoqueueError) in try JetStreamAPI.streamState(js, stream: stream) }
    }

    func consumerState(stream: String, consumer: String) async throws(ProtoqueueError) -> ConsumerState {
        try await withHandles { _, js throws(ProtoqueueError) in
            try JetStreamAPI.consumerState(js, stream: stream, consumer: consumer)
        }
    }

    func message(
        stream: String, sequence: UInt64, operation: String
    ) async throws(ProtoqueueError) -> StoredMessage? {
        let stored = storedStreams
        return try await withHandles { _, js throws(ProtoqueueError) in
            guard try stored.mayRead(stream, js: js, operation: operation) else { return nil }
            return try JetStreamAPI.message(js, stream: stream, sequence: sequence, operation: operation)
        }
    }

    func message(
        stream: String, atOrAfter sequence: UInt64, subject: String, operation: String
    ) async throws(ProtoqueueError) -> StoredMessage? {
        let (timeout, stored) = (configuration.requestTimeout, storedStreams)
        return try await withHandles { connection, js throws(ProtoqueueError) in
            guard try stored.mayRead(stream, js: js, operation: operation) else { return nil }
            return try JetStreamJSONAPI.message(
                connection, stream: stream, atOrAfter: sequence, subject: subject, timeout: timeout,
                operation: operation)
        }
    }

    @discardableResult
    func deleteConsumer(stream: String, consumer: String, operation: String) async throws(ProtoqueueError) -> Bool {
        try await withHandles { _, js throws(ProtoqueueError) in
            try JetStreamAPI.deleteConsumer(js, stream: stream, consumer: consumer, operation: operation)
        }
    }

    @discardableResult
    func deleteMessage(stream: String, sequence: UInt64, operation: String) async throws(ProtoqueueError) -> Bool {
        try await withHandles { _, js throws(ProtoqueueError) in
            try JetStreamAPI.deleteMessage(js, stream: stream, sequence: sequence, operation: operation)
        }
    }

    func lastMessage(
        stream: String, subject: String, operation: String
    ) async throws(ProtoqueueError) -> StoredMessage? {
        let stored = storedStreams
        return try await withHandles { _, js throws(ProtoqueueError) in
            guard try stored.mayRead(stream, js: js, operation: operation) else { return nil }
            return try JetStreamAPI.lastMessage(js, stream: stream, subject: subject, operation: operation)
        }
    }

    func subjectCounts(
        stream: String, filter: String, operation: String
    ) async throws(ProtoqueueError) -> [String: UInt64] {
        let stored = storedStreams
        return try await withHandles { _, js throws(ProtoqueueError) in
            guard try stored.mayRead(stream, js: js, operation: operation) else { return [:] }
            return try JetStreamAPI.subjectCounts(js, stream: stream, filter: filter, operation: operation)
        }
    }

    func jetStreamAPILevel() async throws(ProtoqueueError) -> Int {
        let timeout = configuration.requestTimeout
        return try await withHandles { connection, _ throws(ProtoqueueError) in
            try JetStreamJSONAPI.apiLevel(connection, timeout: timeout)
        }
    }

    func pauseConsumer(
        stream: String, consumer: String, until: Date?
    ) async throws(ProtoqueueError) -> ConsumerPause {
        let timeout = configuration.requestTimeout
        return try await withHandles { connection, _ throws(ProtoqueueError) in
            try JetStreamJSONAPI.pause(connection, stream: stream, consumer: consumer, until: until, timeout: timeout)
        }
    }

    func consumerPause(stream: String, consumer: String) async throws(ProtoqueueError) -> ConsumerPause {
        let timeout = configuration.requestTimeout
        return try await withHandles { connection, _ throws(ProtoqueueError) in
            try JetStreamJSONAPI.pauseState(connection, stream: stream, consumer: consumer, timeout: timeout)
        }
    }

    func purge(stream: String, subject: String, operation: String) async throws(ProtoqueueError) {
        try await withHandles { _, js throws(ProtoqueueError) in
            try JetStreamAPI.purge(js, stream: stream, subject: subject, operation: operation)
        }
    }

    func purge(stream: String, operation: String) async throws(ProtoqueueError) {
        try await withHandles { _, js throws(ProtoqueueError) in
            try JetStreamAPI.purge(js, stream: stream, operation: operation)
        }
    }

    /// The connection's ``ProcessingHub``, after checking that the consumer exists: nobody answers pull requests
    /// for a consumer that does not, so that is said now, by name.
    /// The wall clock.
    func scheduleClockMilliseconds() -> Int64 { WallClock.unixMilliseconds() }

    func deliveries(for layout: QueueLayout) async throws(ProtoqueueError) -> any DeliveryTransport {
        try await withHandles { rawConnection, js throws(ProtoqueueError) -> ProcessingHub in
            var info: UnsafeMutablePointer<jsConsumerInfo>?
            var jerr = jsErrCode(0)
            let status = js_GetConsumerInfo(&info, js, layout.streamName, layout.consumerName, nil, &jerr)
            if let info { jsConsumerInfo_Destroy(info) }
            guard status == NATS_OK else {
                throw NATSErrorMapping.error(
                    status: status, jsCode: Int(jerr.rawValue),
                    operation: "bind to consumer \"\(layout.consumerName)\" of stream \"\(layout.streamName)\""
                )
            }
            return try self.processingHub(rawConnection: rawConnection)
        }
    }
}
