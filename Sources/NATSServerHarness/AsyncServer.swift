public import Foundation

/// Runs blocking harness work (process start, polling, waiting for an exit) on a thread of its own, so tasks on the
/// Swift cooperative pool are not starved and the timing tests running in parallel measure the library.
public func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
    }
}

extension NATSServerProcess {
    /// Writes a configuration and starts a server, like the initializer, off the cooperative pool.
    public static func launch(
        name: String = "n1",
        configuration: String = "",
        jetStreamExtra: String = "",
        directory: URL? = nil
    ) async throws -> NATSServerProcess {
        try await offCooperativePool {
            try NATSServerProcess(
                name: name, configuration: configuration, jetStreamExtra: jetStreamExtra, directory: directory
            )
        }
    }

    /// Starts the stopped server again on the same configuration, store and port, off the cooperative pool.
    public func restart() async throws {
        try await offCooperativePool { try self.start() }
    }

    /// Stops the server (SIGTERM, then SIGKILL) off the cooperative pool; `removingDirectory` deletes its directory.
    public func shutDown(removingDirectory: Bool) async {
        _ = try? await offCooperativePool {
            if removingDirectory { self.stopAndRemove() } else { self.stop() }
        }
    }
}

/// Starts a server (``NATSServerProcess/launch(name:configuration:jetStreamExtra:directory:)``), runs `body` with it,
/// then stops it, also when `body` throws. A directory the harness made is deleted; a given one is kept.
public func withNATSServer<R>(
    configuration: String = "",
    jetStreamExtra: String = "",
    directory: URL? = nil,
    _ body: (NATSServerProcess) async throws -> R
) async throws -> R {
    let server = try await NATSServerProcess.launch(
        configuration: configuration, jetStreamExtra: jetStreamExtra, directory: directory
    )
    do {
        let result = try await body(server)
        await server.shutDown(removingDirectory: directory == nil)
        return result
    } catch {
        await server.shutDown(removingDirectory: directory == nil)
        throw error
    }
}
