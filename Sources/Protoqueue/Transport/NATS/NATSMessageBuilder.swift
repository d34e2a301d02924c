import CNats
import CNatsShim

extension PreparedMessage {
    /// nats.c's own constructor for received messages, when the loaded libnats exports it (3.4.1 does, without
    /// declaring it in `nats.h`); looked up once.
    static let encodedConstructor: protoqueue_natsMsg_create_fn? = protoqueue_natsMsg_create()

    /// Creates the nats.c message. `reply`, when given, is the message's reply subject (where the server sends its
    /// acknowledgement). Runs on a library thread.
    ///
    /// With `natsMsg_create` the header block is encoded here, in one buffer with the body, so nats.c sends it as
    /// is instead of building (and later encoding) a header map per message. A libnats without that symbol gets
    /// the same bytes on the wire through the public `natsMsg_Create` and `natsMsgHeader_Add`.
    func makeMessage(reply: ReplySubject? = nil) throws(ProtoqueueError) -> OwnedMessage {
        if let create = Self.encodedConstructor { return try makeEncodedMessage(reply: reply, create: create) }
        return try makePublicAPIMessage(reply: reply)
    }

    /// The message built with `natsMsg_create` and an encoded header block.
    func makeEncodedMessage(
        reply: ReplySubject?, create: protoqueue_natsMsg_create_fn
    ) throws(ProtoqueueError) -> OwnedMessage {
        let replySize = reply?.byteCount ?? 0
        var pointer: OpaquePointer?
        let capacity = replySize + headerSize + body.count
        let status = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer -> natsStatus in
            let offset = WireFormat.encode(
                headers: headers, body: body, into: buffer, at: reply?.write(into: buffer) ?? 0)
            assert(offset == capacity, "encodedHeaderSize and the bytes written disagree")
            return subject.withCString { subjectPointer in
                buffer.withMemoryRebound(to: CChar.self) { bytes in
                    natsStatus(
                        rawValue: UInt32(
                            bitPattern: create(
                                &pointer, subjectPointer, Int32(subject.utf8.count),
                                replySize > 0 ? bytes.baseAddress : nil, Int32(replySize),
                                bytes.baseAddress.map { $0 + replySize }, Int32(offset - replySize), Int32(headerSize)
                            )))
                }
            }
        }
        guard status == NATS_OK, let pointer else {
            throw NATSErrorMapping.error(status: status, operation: "create message for \"\(subject)\"")
        }
        return OwnedMessage(pointer: pointer)
    }

    /// The message built with nats.c's public API: `natsMsg_Create`, then `natsMsgHeader_Add` per header.
    func makePublicAPIMessage(reply: ReplySubject?) throws(ProtoqueueError) -> OwnedMessage {
        var pointer: OpaquePointer?
        let replyText = reply.map { reply in
            String(unsafeUninitializedCapacity: reply.byteCount) { reply.write(into: $0) }
        }
        var status = body.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { bytes in
                natsMsg_Create(&pointer, subject, replyText, bytes.baseAddress, Int32(bytes.count))
            }
        }
        guard status == NATS_OK, let pointer else {
            throw NATSErrorMapping.error(status: status, operation: "create message for \"\(subject)\"")
        }
        for (key, value) in headers {
            status = natsMsgHeader_Add(pointer, key, value)
            guard status == NATS_OK else {
                natsMsg_Destroy(pointer)
                throw NATSErrorMapping.error(
                    status: status, operation: "set header \(key) of a message for \"\(subject)\""
                )
            }
        }
        return OwnedMessage(pointer: pointer)
    }
}
