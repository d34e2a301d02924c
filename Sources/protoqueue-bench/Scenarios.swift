/// Every scenario, in the order `protoqueue-bench` with no arguments runs them.
enum Scenarios {
    static let all: [Scenario] = [
        encodeScenario,
        decodeScenario,
        enqueueScenario,
        enqueueBatchScenario,
        enqueueBatchHeadersScenario,
        enqueueSendAsapScenario,
        processScenario,
        processMiddlewareScenario,
        processMetricsScenario,
        processObservedScenario,
        processEventsScenario,
        enqueueBatchTracedScenario,
        processTenQueuesScenario,
        latencyP50Scenario,
        latencyP99Scenario,
        processMemoryScenario,
        idleQueuesScenario,
        delayLatenessScenario,
        delayIdleScenario,
        priorityShareScenario,
        priorityLatencyScenario,
    ]
}
