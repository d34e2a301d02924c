import Synchronization

extension Queue {
    /// Enqueues the tasks of an asynchronous sequence as they arrive, for pipelines that stream their records, and
    /// hands their results to `body` as they come.
    ///
    /// ```swift
    /// let summary = try await queue.enqueueBatch(from: records) { results in
    ///     for await outcome in results {
    ///         if case .failure(let error) = outcome.result { log.error("record \(outcome.position): \(error)") }
    ///     }
    /// }
    /// ```
    /// `body` runs on the calling task and reads one ``BatchItemResult`` per task, in input order. Memory stays
    /// bounded by ``BatchOptions/window`` however long the sequence is: a `body` that reads slowly holds the batch
    /// back. When `body` returns before the results end, the batch still enqueues the rest of the input. When it
    /// throws, the batch stops reading the input, settles the tasks already sent, and the error is rethrown.
    /// - Parameters:
    ///   - items: The input; iteration stops early only if it (or `body`) throws.
    ///   - options: Window, ack timeout, attempts.
    ///   - body: Reads the results.
    /// - Returns: Counts of the batch.
    /// - Throws: A ``ProtoqueueCodec/ProtoqueueError`` when the batch cannot run, else the error `body` threw, else
    ///   the input sequence's error (tasks read before it are still enqueued and reported).
    public func enqueueBatch<Input: AsyncSequence & Sendable>(
        from items: Input,
        options: BatchOptions = BatchOptions(),
        results body: (BatchResults) async throws -> Void = { _ in }
    ) async throws -> BatchSummary where Input.Element == EnqueueItem<Message> {
        try await streamBatch(from: items, item: { $0 }, options: options, body: body)
    }

    /// Enqueues the messages of an asynchronous sequence as they arrive, each with a generated id and no
    /// metadata; see ``enqueueBatch(from:options:results:)-(_,_,_)``.
    /// - Parameters:
    ///   - tasks: The input; iteration stops early only if it (or `body`) throws.
    ///   - options: Window, ack timeout, attempts.
    ///   - body: Reads the results.
    /// - Returns: Counts of the batch.
    /// - Throws: As ``enqueueBatch(from:options:results:)-(_,_,_)``.
    public func enqueueBatch<Input: AsyncSequence & Sendable>(
        fromTasks tasks: Input,
        options: BatchOptions = BatchOptions(),
        results body: (BatchResults) async throws -> Void = { _ in }
    ) async throws -> BatchSummary where Input.Element == Message {
        try await streamBatch(from: tasks, item: { EnqueueItem($0) }, options: options, body: body)
    }

    private enum BatchPart: Sendable {
        case input((any Error)?)
        case batch(Result<BatchSummary, ProtoqueueError>)
    }

    /// Runs a streamed batch, inside the middleware's ``QueueMiddleware/send(_:next:)`` when there is any; the
    /// error of `body` or of the input is thrown after the middleware saw the batch's outcome.
    func streamBatch<Input: AsyncSequence & Sendable>(
        from items: Input,
        item: @escaping @Sendable (Input.Element) -> EnqueueItem<Message>,
        options: BatchOptions,
        count: Int? = nil,
        body: (BatchResults) async throws -> Void
    ) async throws -> BatchSummary {
        guard !middleware.isEmpty else {
            let run = try await runStreamBatch(from: items, item: item, options: options, body: body)
            if let error = run.bodyError ?? run.inputError { throw error }
            return run.summary
        }
        var run: StreamBatchRun?
        _ = try await middleware.send(operation(.batch(count: count))) { () async throws(ProtoqueueError) in
            let finished = try await runStreamBatch(from: items, item: item, options: options, body: body)
            run = finished
            return finished.outcome
        }
        guard let run else {
            throw ProtoqueueError(.refused, "a middleware of queue \(name) returned without sending the batch")
        }
        if let error = run.bodyError ?? run.inputError { throw error }
        return run.summary
    }

    /// What a streamed batch did, with the errors of `body` and of the input still to be thrown.
    struct StreamBatchRun {
        var summary: BatchSummary
        var outcome: EnqueueOutcome
        var bodyError: (any Error)?
        var inputError: (any Error)?
    }

    private func runStreamBatch<Input: AsyncSequence & Sendable>(
        from items: Input,
        item: @escaping @Sendable (Input.Element) -> EnqueueItem<Message>,
        options: BatchOptions,
        body: (BatchResults) async throws -> Void
    ) async throws(ProtoqueueError) -> StreamBatchRun {
        let transport = connection.transport
        let maxPayload = try transport.currentMaxPayload()
        let input = BlockingChannel<BatchInput>(capacity: max(16, options.window))
        let output = AsyncResultChannel<BatchItemResult>(capacity: max(16, options.window))
        // Failures by code, for the middleware's outcome; a lock per failed task only.
        let failures = FailureTally()
        let (summary, bodyError, inputError) = await withTaskGroup(of: BatchPart.self) { group in
            // The input is read on a child of the calling task (its task-local values included).
            group.addTask { [self] in
                do {
                    for try await element in items {
                        let prepared = await prepareInputThroughMiddleware(item(element), maxPayload: maxPayload)
                        if !(await input.send(prepared)) { break }
                    }
                    input.finish()
                    return .input(nil)
                } catch {
                    input.finish()
                    return .input(error)
                }
            }
            group.addTask {
                // If the batch stops early (it cannot start, or fails), the input is closed so its reader never
                // waits for space that will not come.
                defer {
                    input.close()
                    output.finish()
                }
                do throws(ProtoqueueError) {
                    return .batch(
                        .success(
                            try await transport.publishBatch(
                                options: options, source: { input.receive() },
                                sink: { [events] result in
                                    switch result.result {
                                    case .success(let receipt): events?.enqueued(receipt)
                                    case .failure(let error): failures.count(error.code)
                                    }
                                    output.put(BatchItemResult(position: result.index, result: result.result))
                                }
                            )))
                } catch {
                    return .batch(.failure(error))
                }
            }
            var bodyError: (any Error)?
            do {
                try await body(BatchResults(channel: output))
            } catch {
                bodyError = error
                input.close()
            }
            output.discard()
            var inputError: (any Error)?
            var summary = Result<BatchSummary, ProtoqueueError>.success(BatchSummary())
            for await part in group {
                switch part {
                case .input(let error): inputError = error
                case .batch(let result): summary = result
                }
            }
            return (summary, bodyError, inputError)
        }
        let result = try summary.get()
        let outcome = EnqueueOutcome(
            succeeded: result.succeeded, duplicates: result.duplicates, failures: failures.counts)
        return StreamBatchRun(summary: result, outcome: outcome, bodyError: bodyError, inputError: inputError)
    }
}

/// A batch's failures by error code, counted on the batch thread and read once it is over.
private final class FailureTally: Sendable {
    private let byCode = Mutex<[ProtoqueueError.Code: Int]>([:])

    func count(_ code: ProtoqueueError.Code) { byCode.withLock { $0[code, default: 0] += 1 } }

    var counts: [ProtoqueueError.Code: Int] { byCode.withLock { $0 } }
}

/// The result of one task of a streamed batch (``Queue/enqueueBatch(from:options:results:)-(_,_,_)``).
public struct BatchItemResult: Sendable {
    /// The task's zero-based position in the input.
    public var position: Int
    /// Its receipt, or why it was not enqueued.
    public var result: Result<EnqueueReceipt, ProtoqueueError>
}

/// The results of a streamed batch, one per task in input order, read by the body of
/// ``Queue/enqueueBatch(from:options:results:)-(_,_,_)``.
public struct BatchResults: AsyncSequence, Sendable {
    /// One task's result.
    public typealias Element = BatchItemResult
    /// Reading never fails: a task's failure is its result.
    public typealias Failure = Never

    let channel: AsyncResultChannel<BatchItemResult>

    /// Creates the iterator.
    public func makeAsyncIterator() -> Iterator { Iterator(channel: channel) }

    /// Reads the results in order.
    public struct Iterator: AsyncIteratorProtocol {
        let channel: AsyncResultChannel<BatchItemResult>

        /// The next result, or `nil` after the last.
        public mutating func next() async -> BatchItemResult? { await channel.next() }
    }
}
