import Tracing

/// How trace context travels in a task's headers: the instrument decides the keys (`traceparent` and `tracestate`
/// for W3C), these write and read them.
enum TraceHeaders {
    /// Writes into an ``OutgoingTask``'s extra headers. An empty value is not written: nats.c 3.4.1 reads an empty
    /// header value as the next header line.
    struct Injector: Tracing.Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
            guard !value.isEmpty else { return }
            carrier[key] = value
        }
    }

    /// Reads from a delivered task's headers, by exact name (W3C names are lower case: `traceparent`,
    /// `tracestate`).
    struct Extractor: Tracing.Extractor {
        func extract(key: String, from carrier: ReceivedHeaders) -> String? { carrier[key] }
    }
}

/// The `error.type` of a `process` span: the dead-letter reason when the outcome dead-letters the task, the error's
/// type when a thrown error retries it, `retry` when the handler asked for one, none for success, discard and a
/// handler stopped by shutdown.
enum TraceErrorType {
    static func of(_ outcome: TaskOutcome, context: TaskContext) -> String? {
        of(outcome, attempt: context.attempt, maxAttempts: context.maxAttempts)
    }

    static func of(_ outcome: TaskOutcome, attempt: Int, maxAttempts: Int?) -> String? {
        let settlement = SettlementDecision.settlement(
            for: outcome, attempt: attempt, maxAttempts: maxAttempts, reschedules: false, retryDelay: { _ in .zero })
        switch (settlement, outcome) {
        case (.deadLetter(let reason, _, _), _): return reason.name
        case (.nak, .threw(let error)): return String(reflecting: type(of: error))
        case (.nak, .returned): return "retry"
        default: return nil
        }
    }
}
