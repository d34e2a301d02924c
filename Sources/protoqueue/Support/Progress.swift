import Foundation

/// A one-line progress bar on stderr, redrawn in place when stderr is a terminal (else one line at the end).
final class Progress {
    let total: Int
    let enabled: Bool
    let terminal = isatty(STDERR_FILENO) == 1
    var done = 0

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func advance() {
        done += 1
        if enabled && terminal { draw(end: "") }
    }

    func finish() {
        guard enabled else { return }
        draw(end: "\n")
    }

    func draw(end: String) {
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\(terminal ? "\r" : "")[\(bar)] \(done)/\(total)\(end)".utf8))
    }
}
