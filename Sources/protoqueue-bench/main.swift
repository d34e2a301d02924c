#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// protoqueue-bench [scenario ...]: runs the named scenarios (all when none is named) and prints one
// `RESULT name=<scenario> ours=<x> baseline=<y> ratio=<ours/baseline> unit=<unit>` line per scenario.
let requested = Array(CommandLine.arguments.dropFirst())
let known = Dictionary(uniqueKeysWithValues: Scenarios.all.map { ($0.name, $0) })
if requested.contains("--help") || requested.contains("-h") {
    print("usage: protoqueue-bench [scenario ...]")
    for scenario in Scenarios.all { print("  \(scenario.name): \(scenario.summary)") }
    exit(0)
}
for name in requested where known[name] == nil {
    print("unknown scenario '\(name)'; known: \(Scenarios.all.map(\.name).joined(separator: ", "))")
    exit(2)
}
for scenario in requested.isEmpty ? Scenarios.all : requested.map({ known[$0]! }) {
    do {
        for result in try scenario.run() { print(result.line) }
    } catch {
        print("scenario \(scenario.name) failed: \(error)")
        exit(1)
    }
}
