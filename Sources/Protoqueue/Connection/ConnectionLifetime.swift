public import Logging
public import ServiceLifecycle

/// Connects, runs `body` with the connection, and closes it when `body` returns or throws.
///
/// ```swift
/// try await withNATSConnection(.init(servers: ["nats://127.0.0.1:4222"]), logger: logger) { connection in
///     let queue = try await Queue<EmailTask>(connection: connection, name: "emails", logger: logger)
///     try await queue.enqueue(task)
/// }
/// ```
/// - Parameters:
///   - configuration: Servers, credentials, TLS, timeouts.
///   - logger: Where connection events go.
///   - body: The work that uses the connection.
/// - Returns: What `body` returns.
/// - Throws: The connection error (``ProtoqueueCodec/ProtoqueueError``) or what `body` throws.
public func withNATSConnection<Result: Sendable>(
    _ configuration: NATSConnectionConfiguration,
    logger: Logger,
    _ body: (NATSConnection) async throws -> Result
) async throws -> Result {
    let connection = try await NATSConnection.connect(configuration, logger: logger)
    do {
        let result = try await body(connection)
        await connection.close()
        return result
    } catch {
        await connection.close()
        throw error
    }
}

/// A connection is a swift-service-lifecycle `Service` that closes on graceful shutdown.
///
/// A `ServiceGroup` shuts its services down in the reverse of their order, so list the connection before the
/// workers that use it: they stop (finishing their running handlers) before it closes.
/// ```swift
/// let connection = try await NATSConnection.connect(configuration, logger: logger)
/// let queue = try await Queue<EmailTask>(connection: connection, name: "emails", logger: logger)
/// let group = ServiceGroup(
///     services: [connection, queue.processor { task, context in .success }],
///     gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
extension NATSConnection: Service {
    /// Waits for graceful shutdown (or cancellation), then closes the connection (``close()``).
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}
