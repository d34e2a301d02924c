import Synchronization

extension Queue {
    /// Enqueues many tasks with pipelined asynchronous publishing and returns one result per task, in input order.
    ///
    /// At most ``BatchOptions/window`` tasks are outstanding; each waits at most ``BatchOptions/ackTimeout`` for its
    /// acknowledgement and is then sent again with the same id (so it is never stored twice), up to
    /// ``BatchOptions/maxAttempts`` sends. One task's failure (invalid metadata, too large, refused by the server)
    /// does not stop the others.
    /// - Parameters:
    ///   - items: The tasks with their options.
    ///   - options: Window, ack timeout, attempts.
    /// - Returns: For each input, its receipt or its typed error.
    /// - Throws: Only when the batch cannot run at all (closed connection).
    public func enqueueBatch(
        _ items: [EnqueueItem<Message>],
        options: BatchOptions = BatchOptions()
    ) async throws(ProtoqueueError) -> [Result<EnqueueReceipt, ProtoqueueError>] {
        try await enqueueBatch(count: items.count, options: options) { items[$0] }
    }

    /// Enqueues many tasks with default options (generated ids, no metadata); see
    /// ``enqueueBatch(_:options:)-([EnqueueItem<Message>],_)``.
    /// - Parameters:
    ///   - tasks: The tasks.
    ///   - options: Window, ack timeout, attempts.
    /// - Returns: For each task, its receipt or its typed error, in input order.
    public func enqueueBatch(
        _ tasks: [Message],
        options: BatchOptions = BatchOptions()
    ) async throws(ProtoqueueError) -> [Result<EnqueueReceipt, ProtoqueueError>] {
        try await enqueueBatch(count: tasks.count, options: options) { EnqueueItem(tasks[$0]) }
    }

    /// The array variants: items read by position on the batch thread, results collected in order.
    private func enqueueBatch(
        count: Int,
        options: BatchOptions,
        item: @escaping @Sendable (Int) -> EnqueueItem<Message>
    ) async throws(ProtoqueueError) -> [Result<EnqueueReceipt, ProtoqueueError>] {
        let transport = connection.transport
        let maxPayload = try transport.currentMaxPayload()
        let cursor = Atomic<Int>(0)
        let results = Mutex<[Result<EnqueueReceipt, ProtoqueueError>]>([])
        results.withLock { $0.reserveCapacity(count) }
        _ = try await transport.publishBatch(
            options: options,
            source: { [self] () -> BatchInput? in
                let position = cursor.add(1, ordering: .relaxed).oldValue
                guard position < count else { return nil }
                return prepareInput(item(position), maxPayload: maxPayload)
            },
            sink: { output in results.withLock { $0.append(output.result) } }
        )
        return results.withLock { $0 }
    }

    /// Enqueues the tasks of an asynchronous sequence as they arrive, for pipelines that stream their records.
    ///
    /// Memory stays bounded by ``BatchOptions/window`` however long the sequence is. `onResult` is called once per
    /// task, strictly in input order, with the task's zero-based position and its receipt or error. It runs on the
    /// batch's library thread and applies back-pressure: keep it short (record, count, hand off).
    /// - Parameters:
    ///   - items: The input; iteration stops early only if it throws.
    ///   - options: Window, ack timeout, attempts.
    ///   - onResult: Called with `(position, result)` for every task, in order.
    /// - Returns: Counts of the batch.
    /// - Throws: The input sequence's error (tasks read before it are still enqueued and reported), or a
    ///   ``ProtoqueueCodec/ProtoqueueError`` when the batch cannot run.
    public func enqueueBatch<Input: AsyncSequence & Sendable>(
        from items: Input,
        options: BatchOptions = BatchOptions(),
        onResult: @escaping @Sendable (Int, Result<EnqueueReceipt, ProtoqueueError>) -> Void
    ) async throws -> BatchSummary where Input.Element == EnqueueItem<Message> {
        let transport = connection.transport
        let maxPayload = try transport.currentMaxPayload()
        let channel = BlockingChannel<BatchInput>(capacity: max(16, options.window))
        // If the batch stops early (it cannot start, or fails), the channel is closed so the loop below never
        // waits for space that will not come.
        async let summary: BatchSummary = {
            defer { channel.close() }
            return try await transport.publishBatch(
                options: options,
                source: { channel.receive() },
                sink: { output in onResult(output.index, output.result) }
            )
        }()
        var inputError: (any Error)?
        do {
            for try await item in items {
                if !(await channel.send(prepareInput(item, maxPayload: maxPayload))) { break }
            }
        } catch {
            inputError = error
        }
        channel.finish()
        let result: BatchSummary
        do {
            result = try await summary
        } catch {
            channel.close()
            throw error
        }
        if let inputError { throw inputError }
        return result
    }

    private func prepareInput(_ item: EnqueueItem<Message>, maxPayload: Int) -> BatchInput {
        do throws(ProtoqueueError) {
            let prepared = try prepare(item.task, options: item.options, maxPayload: maxPayload)
            return (prepared.id, .success(prepared))
        } catch {
            return (item.options.id ?? "", .failure(error))
        }
    }
}
