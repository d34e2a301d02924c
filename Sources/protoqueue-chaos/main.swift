import Foundation

#if canImport(Glibc)
import Glibc
#endif

// protoqueue-chaos: fault injection against real nats-server and worker processes on 127.0.0.1.
//   protoqueue-chaos run <scenario|all> [--tasks N] [--keep]   one CHAOS line per scenario; exit 1 if any fails
//   protoqueue-chaos worker --servers … --queue … --ledger …   (started by `run`)
// Scenarios: worker-kill, server-restart, cluster, pause, poison, schedules, long-tasks.
// NATS_SERVER_BIN picks the nats-server binary.

func options(_ arguments: ArraySlice<String>) -> [String: String] {
    var result: [String: String] = [:]
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        guard argument.hasPrefix("--") else { continue }
        let key = String(argument.dropFirst(2))
        if key == "keep" { result[key] = "true" } else { result[key] = iterator.next() ?? "" }
    }
    return result
}

/// Writes a line to stdout at once (no stdio buffering: the line must survive a later crash or kill).
func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: protoqueue-chaos run <\(ChaosScenarios.names.joined(separator: "|"))|all> [--tasks N] [--keep]")
    exit(2)
}
switch arguments[1] {
case "worker":
    do {
        try await Worker.run(options(arguments.dropFirst(2)))
    } catch {
        print("worker failed: \(error)")
        exit(1)
    }
case "run":
    guard arguments.count >= 3 else {
        print("usage: protoqueue-chaos run <scenario|all> [--tasks N]")
        exit(2)
    }
    let parsed = options(arguments.dropFirst(3))
    let tasks = Int(parsed["tasks"] ?? "3000") ?? 3000
    let names = arguments[2] == "all" ? ChaosScenarios.names : arguments[2].split(separator: ",").map(String.init)
    var allPassed = true
    var lines: [String] = []
    for name in names {
        do {
            let report = try await ChaosScenarios.run(name, tasks: tasks, keep: parsed["keep"] != nil)
            emit(report.line)
            lines.append(report.line)
            allPassed = allPassed && report.passed
        } catch {
            let line = "CHAOS scenario=\(name) tasks=\(tasks) result=ERROR(\(error))"
            emit(line)
            lines.append(line)
            allPassed = false
        }
    }
    exit(allPassed ? 0 : 1)
default:
    print("unknown command \(arguments[1])")
    exit(2)
}
