import CNats

extension Provisioner {
    /// Creates the dead-letter stream when missing (limits retention, so records can be browsed and replayed),
    /// or checks that the existing one captures the dead-letter subject. Never changes an existing stream.
    static func ensureDeadLetterStream(
        js: OpaquePointer, layout: QueueLayout, configuration: QueueConfiguration, create: Bool
    ) throws(ProtoqueueError) {
        let name = layout.deadLetterStreamName
        let subject = layout.deadLetterSubject
        for attempt in 0..<2 {
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var jerr = jsErrCode(0)
            let status = js_GetStreamInfo(&info, js, name, nil, &jerr)
            defer { if let info { jsStreamInfo_Destroy(info) } }
            if status == NATS_OK, let info, let config = info.pointee.Config?.pointee {
                let subjects = (0..<Int(config.SubjectsLen)).compactMap {
                    config.Subjects[$0].map { String(cString: $0) }
                }
                guard subjects.contains(subject) else {
                    throw ProtoqueueError(
                        .configurationMismatch,
                        "dead-letter stream \"\(name)\" exists but captures \(subjects), not \"\(subject)\"; it was "
                            + "left unchanged"
                    )
                }
                if config.Retention == js_WorkQueuePolicy {
                    throw ProtoqueueError(
                        .configurationMismatch,
                        "dead-letter stream \"\(name)\" exists with work-queue retention; records could not be listed "
                            + "or kept. It was left unchanged"
                    )
                }
                return
            }
            let notFound = NATSErrorMapping.isNotFound(.stream, status: status, jsCode: Int(jerr.rawValue))
            guard notFound else {
                throw NATSErrorMapping.error(
                    status: status, jsCode: Int(jerr.rawValue), operation: "read dead-letter stream \"\(name)\"")
            }
            guard create else { throw missing("dead-letter stream \"\(name)\"") }
            if attempt == 1 { break }
            var config = jsStreamConfig()
            jsStreamConfig_Init(&config)
            var created: UnsafeMutablePointer<jsStreamInfo>?
            var createError = jsErrCode(0)
            let createStatus: natsStatus = name.withCString { cName in
                withCStrings([subject]) { subjects in
                    config.Name = cName
                    config.Subjects = subjects
                    config.SubjectsLen = 1
                    config.Retention = js_LimitsPolicy
                    config.Storage = jsStorageType(UInt32(configuration.storage.raw))
                    config.Replicas = Int64(configuration.replicas)
                    config.MaxAge = configuration.deadLetter.maxAge?.nanoseconds ?? 0
                    config.Duplicates = configuration.duplicateWindow.nanoseconds
                    config.Discard = js_DiscardNew
                    return js_AddStream(&created, js, &config, nil, &createError)
                }
            }
            if let created { jsStreamInfo_Destroy(created) }
            if createStatus == NATS_OK { return }
            if Int(createError.rawValue) == NATSErrorMapping.JetStreamCode.streamNameInUse { continue }
            throw NATSErrorMapping.error(
                status: createStatus, jsCode: Int(createError.rawValue),
                operation: "create dead-letter stream \"\(name)\" for \"\(subject)\"")
        }
        throw ProtoqueueError(.natsError, "dead-letter stream \"\(name)\" could not be created or read")
    }
}
