import Logging
import Synchronization

extension ProcessorEngine {
    /// Looks at the consumer after the server said it may be gone (`reason`); re-creates it, or stops the
    /// processor with an error naming it. While the server cannot say, the next pull waits (as after a failed one)
    /// and a later turn looks again (``FetchState/consumerCheckInconclusive(at:)``).
    /// - Parameter ensure: Creates the consumer when it is missing (``ConsumerWatch/check(ensure:)``). Blocks.
    func checkConsumer(after reason: String, ensure: () throws(ProtoqueueError) -> Bool) {
        do throws(ProtoqueueError) {
            let checked = try watch.check(ensure: ensure)
            if case .unknown = checked {
                // Looked at again from a later turn (the transport takes one after this): nothing else may ask.
                state.withLock { _ = $0.consumerCheckInconclusive(at: MonotonicClock.nanoseconds()) }
            } else {
                state.withLock { $0.consumerCheckConcluded() }
            }
            switch checked {
            case .recreated:
                logger.warning(
                    "consumer was deleted while the worker ran; re-created it",
                    metadata: ["protoqueue.consumer": "\(layout.consumerName)", "protoqueue.server": "\(reason)"]
                )
            case .present:
                if reason.hasPrefix("503") { backOff(reason) }
            case .unknown(let error):
                backOff("\(reason); \(error)")
            }
        } catch {
            fail(error)
        }
    }

    private func backOff(_ reason: String) {
        let failures = state.withLock { $0.pullFailed(at: MonotonicClock.nanoseconds()).failures }
        if failures == 1 || failures % 20 == 0 {
            logger.warning(
                "no answer to pull requests; retrying",
                metadata: ["protoqueue.consumer": "\(layout.consumerName)", "protoqueue.server": "\(reason)"]
            )
        }
    }
}
