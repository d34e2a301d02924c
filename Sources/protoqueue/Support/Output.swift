import ArgumentParser
import Foundation
import Protoqueue

/// The exit codes the command documents (`protoqueue --help`).
enum ExitStatus {
    static let failure: Int32 = 1
    static let notFound: Int32 = 2
    static let breakingChange: Int32 = 3
    static let unreachable: Int32 = 4
    static let permission: Int32 = 5

    /// The exit code for a library error.
    static func code(for error: ProtoqueueError) -> Int32 {
        switch error.code {
        case .streamNotFound: notFound
        case .connectionFailed, .authenticationFailed, .tlsFailed, .timeout: unreachable
        case .permissionDenied: permission
        default: failure
        }
    }
}

/// Runs `body`; a library error is printed as one line on stderr (never a stack trace) and ends the command with its
/// exit code.
func reportingFailures(_ body: () async throws(ProtoqueueError) -> Void) async throws {
    do {
        try await body()
    } catch {
        FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
        throw ExitCode(ExitStatus.code(for: error))
    }
}

/// Writes a line on stdout.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// Writes `name: value` lines with the values aligned.
func sayFields(_ fields: [(String, String)]) {
    let width = fields.map(\.0.count).max() ?? 0
    for (name, value) in fields {
        say(name + ":" + String(repeating: " ", count: width - name.count + 1) + value)
    }
}
