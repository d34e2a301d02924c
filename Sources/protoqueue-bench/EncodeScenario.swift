import CProtobufC
import CTaskSchemas
import TaskSchemas

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `encode`: `EmailTask.serializedBytes()` against protobuf-c packing the same message from a C struct that
/// is already built (get_packed_size, malloc, pack, free).
let encodeScenario = Scenario(
    name: "encode",
    summary: "ns per EmailTask (~100 bytes) encode vs raw protobuf-c pack"
) {
    let bytes = try SampleEmailTask.encoded()
    let unpacked = bytes.withUnsafeBufferPointer {
        protoqueue__examples__email_task__unpack(nil, $0.count, $0.baseAddress)
    }!
    defer { protoqueue__examples__email_task__free_unpacked(unpacked, nil) }
    let message = SampleEmailTask.value
    let result = try Bench.compare(
        iterations: 5_000, rounds: 60, clock: .threadCPU,  // codec work never waits; see BenchClock
        ours: { blackHole(try message.serializedBytes()) },
        baseline: {
            let size = protoqueue__examples__email_task__get_packed_size(unpacked)
            let buffer = malloc(size)!.assumingMemoryBound(to: UInt8.self)
            blackHole(protoqueue__examples__email_task__pack(unpacked, buffer))
            free(buffer)
        }
    )
    return BenchResult(name: "encode", ours: result.ours, baseline: result.baseline, unit: "ns/msg")
}
