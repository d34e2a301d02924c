import CProtobufC
import CTaskSchemas
import TaskSchemas

/// `decode`: `EmailTask(serializedBytes:)` against protobuf-c unpack + free_unpacked of the same bytes.
let decodeScenario = Scenario(
    name: "decode",
    summary: "ns per EmailTask (~100 bytes) decode vs raw protobuf-c unpack + free"
) {
    let bytes = try SampleEmailTask.encoded()
    let result = try Bench.compare(
        iterations: 5_000, rounds: 60, clock: .threadCPU,  // codec work never waits; see BenchClock
        ours: { blackHole(try EmailTask(serializedBytes: bytes)) },
        baseline: {
            bytes.withUnsafeBufferPointer {
                let message = protoqueue__examples__email_task__unpack(nil, $0.count, $0.baseAddress)
                blackHole(message)
                protoqueue__examples__email_task__free_unpacked(message, nil)
            }
        }
    )
    return BenchResult(name: "decode", ours: result.ours, baseline: result.baseline, unit: "ns/msg")
}
