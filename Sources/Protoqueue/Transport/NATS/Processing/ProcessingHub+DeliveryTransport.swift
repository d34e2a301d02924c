import CNats

extension ProcessingHub: DeliveryTransport {
    /// Publishes `{"batch":count,"expires":ns}` to `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` with reply
    /// subject `<inbox prefix>.<id>.<number>` on the batched connection, and has it written at once
    /// (``BatchedConnection/requestWrite()``). (Left to nats.c 3.4.1's flusher instead, a request now and then stayed
    /// in the buffer until the next write, under load: an idle worker then had no request open for up to a second.)
    ///
    /// It travels on the batched connection behind the acknowledgements that freed its slots, so they reach the
    /// socket no later than it does, and no task is delivered into a slot before the acknowledgement that freed it
    /// is written. Whenever the worker dies, the tasks it finished without their acknowledgement having left are
    /// thus at most the `concurrency` slots it held, as with one socket write per acknowledgement.
    func pull(for engine: ProcessorEngine, count: Int, expires: UInt64, number: UInt64) -> ProtoqueueError? {
        let subject = "$JS.API.CONSUMER.MSG.NEXT.\(engine.layout.streamName).\(engine.layout.consumerName)"
        let reply = "\(inboxPrefix).\(engine.id).\(number)"
        var body = "{\"batch\":\(count),\"expires\":\(expires)}"
        let status = body.withUTF8 { bytes in
            natsConnection_PublishRequest(batched.raw, subject, reply, bytes.baseAddress, Int32(bytes.count))
        }
        guard status == NATS_OK else {
            return NATSErrorMapping.error(
                status: status, operation: "fetch from consumer \"\(engine.layout.consumerName)\"", subject: subject)
        }
        batched.requestWrite()
        return nil
    }

    func signalInProgress(_ delivery: Delivery) {
        enqueue(.inProgress(NATSDeliveredMessage.pointer(of: delivery), delivery.engine))
    }

    func settle(_ delivery: Delivery, _ settlement: Settlement, then report: SettlementReport?) {
        enqueue(.settle(delivery, settlement, report))
    }

    func checkConsumer(of engine: ProcessorEngine, reason: String) {
        enqueue(.checkConsumer(engine, reason))
    }

    func returnUnclaimed(_ delivery: Delivery) {
        returnUnclaimed(NATSDeliveredMessage.pointer(of: delivery))
    }

    func flush(for engine: ProcessorEngine) async {
        let flushed = ExitSignal()
        enqueue(.finish(engine, flushed))
        await flushed.wait()
    }
}
