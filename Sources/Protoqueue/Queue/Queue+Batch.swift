import Synchronization

extension Queue {
    /// Enqueues many tasks with pipelined asynchronous publishing and returns one result per task, in input order.
    ///
    /// At most ``BatchOptions/window`` tasks are outstanding; each waits at most ``BatchOptions/ackTimeout`` for its
    /// acknowledgement and is then sent again with the same id (so it is never stored twice), up to
    /// ``BatchOptions/maxAttempts`` sends. A task no stream answers is sent again for up to 2 s; after that, later
    /// tasks to its subject fail unsent. One task's failure (invalid metadata, too large, refused by the server)
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

    /// The array variants: items read by position on the batch thread, results collected in order. With middleware,
    /// which runs on a child of the calling task, the items take the streaming path instead.
    private func enqueueBatch(
        count: Int,
        options: BatchOptions,
        item: @escaping @Sendable (Int) -> EnqueueItem<Message>
    ) async throws(ProtoqueueError) -> [Result<EnqueueReceipt, ProtoqueueError>] {
        guard middleware.isEmpty else {
            var results: [Result<EnqueueReceipt, ProtoqueueError>] = []
            results.reserveCapacity(count)
            do {
                _ = try await streamBatch(
                    from: Positions(count: count), item: item, options: options, count: count
                ) { stream in
                    for await outcome in stream { results.append(outcome.result) }
                }
            } catch let error as ProtoqueueError {
                throw error
            } catch {
                // Neither the positions nor the body above throw.
                throw ProtoqueueError(.natsError, "batch of \(count) tasks: \(error)")
            }
            return results
        }
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
            sink: { [events] output in
                if let events, case .success(let receipt) = output.result { events.enqueued(receipt) }
                results.withLock { $0.append(output.result) }
            }
        )
        return results.withLock { $0 }
    }

    /// A batch item prepared where the batch reads it, for a queue without middleware.
    func prepareInput(_ item: EnqueueItem<Message>, maxPayload: Int) -> BatchInput {
        let id = item.options.id ?? .random()
        do throws(ProtoqueueError) {
            try Validation.notUnique(item.options)
            let prepared = try prepare(
                item.task, id: id, metadata: item.options.metadata, headers: [:], timing: item.options,
                maxPayload: maxPayload)
            return (id, .success(prepared))
        } catch {
            return (id, .failure(error))
        }
    }

    /// A batch item prepared on the task that reads the input, through the middleware when there is any.
    func prepareInputThroughMiddleware(_ item: EnqueueItem<Message>, maxPayload: Int) async -> BatchInput {
        guard !middleware.isEmpty else { return prepareInput(item, maxPayload: maxPayload) }
        do throws(ProtoqueueError) {
            try Validation.notUnique(item.options)
            let prepared = try await prepare(item.task, options: item.options, maxPayload: maxPayload)
            return (prepared.id, .success(prepared))
        } catch {
            return (item.options.id, .failure(error))
        }
    }
}

/// The positions `0..<count` as an asynchronous sequence: the input of an array batch on the streaming path.
struct Positions: AsyncSequence, Sendable {
    typealias Element = Int
    typealias Failure = Never
    let count: Int

    func makeAsyncIterator() -> Iterator { Iterator(count: count) }

    struct Iterator: AsyncIteratorProtocol {
        let count: Int
        var next = 0

        mutating func next() async -> Int? {
            guard next < count else { return nil }
            defer { next += 1 }
            return next
        }
    }
}
