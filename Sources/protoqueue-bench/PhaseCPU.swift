import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time of a timed phase, for `PROTOQUEUE_BENCH_CPU=1`: this process's (every thread, from `getrusage`) and the
/// private nats-server's (from `/proc/<pid>/stat`; not known for a server at `NATS_URL`), printed per task as
/// `CPU name=... side=... client_us=... server_us=...` on standard error. The rate alone cannot tell whether a change
/// saved work or only waited differently.
struct PhaseCPU {
    private let client: Double
    private let server: Double?

    /// Starts counting, or `nil` when `PROTOQUEUE_BENCH_CPU` is not `1`.
    static func start() -> PhaseCPU? {
        guard ProcessInfo.processInfo.environment["PROTOQUEUE_BENCH_CPU"] == "1" else { return nil }
        return PhaseCPU(client: clientSeconds(), server: BenchNATS.serverPID.flatMap(serverSeconds))
    }

    /// Prints the CPU per task since ``start()``.
    func report(name: String, side: String, tasks: Int) {
        let clientMicros = (Self.clientSeconds() - client) * 1e6 / Double(tasks)
        var line = "CPU name=\(name) side=\(side) client_us=\((clientMicros * 100).rounded() / 100)"
        if let server, let now = BenchNATS.serverPID.flatMap(Self.serverSeconds) {
            line += " server_us=\(((now - server) * 1e6 / Double(tasks) * 100).rounded() / 100)"
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    private static func clientSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// User plus system time of `pid` (fields 14 and 15 of its stat line, in clock ticks).
    private static func serverSeconds(_ pid: pid_t) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        // Field 3 (state) is the first after the name: utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
