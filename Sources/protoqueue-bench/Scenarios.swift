/// Every scenario, in the order `protoqueue-bench` with no arguments runs them.
enum Scenarios {
    static let all: [Scenario] = [
        encodeScenario,
        decodeScenario,
        QueueScenarios.scenario("enqueue", "one task at a time beside raw nats.c js_Publish"),
        QueueScenarios.scenario("enqueue-batch", "enqueueBatch beside raw nats.c js_PublishAsync with the same window"),
        QueueScenarios.scenario("enqueue-sendasap", "single enqueue with SendAsap on (ours) and off (baseline)"),
    ]
}
