/// Every scenario, in the order `protoqueue-bench` with no arguments runs them.
enum Scenarios {
    static let all: [Scenario] = [
        encodeScenario,
        decodeScenario,
    ]
}
