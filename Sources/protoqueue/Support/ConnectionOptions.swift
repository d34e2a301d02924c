import ArgumentParser
import Foundation
import Logging
import Protoqueue

/// How the command reaches the server: the options of the library's `NATSConnectionConfiguration`, each falling
/// back to the environment variable the NATS command line reads.
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.customShort("s"), .long], help: "A server URL; repeat it for a cluster (default: $NATS_URL).")
    var server: [String] = []
    @Option(help: "User name ($NATS_USER).") var user: String?
    @Option(help: "Password ($NATS_PASSWORD).") var password: String?
    @Option(help: "Token ($NATS_TOKEN).") var token: String?
    @Option(help: "A .creds file with a user JWT and NKey seed ($NATS_CREDS).") var creds: String?
    @Option(help: "An NKey public key; needs --nkey-seed ($NATS_NKEY).") var nkey: String?
    @Option(name: .customLong("nkey-seed"), help: "The file holding the NKey seed.") var nkeySeed: String?
    @Option(name: .customLong("tls-ca"), help: "CA certificates to verify the server with ($NATS_CA).")
    var tlsCA: String?
    @Option(name: .customLong("tls-cert"), help: "A client certificate for mutual TLS ($NATS_CERT).")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "The client certificate's key ($NATS_KEY).") var tlsKey: String?
    @Option(help: "Seconds to wait for the server.") var timeout: Double = 5

    /// The library's configuration of these options.
    func configuration(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ProtoqueueError) -> NATSConnectionConfiguration {
        func value(_ option: String?, _ variable: String) -> String? {
            option ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        let urls =
            server.isEmpty
            ? (value(nil, "NATS_URL")?.split(separator: ",").map(String.init) ?? ["nats://127.0.0.1:4222"])
            : server
        var configuration = NATSConnectionConfiguration(servers: urls)
        configuration.name = "protoqueue"
        configuration.connectTimeout = .milliseconds(Int64(timeout * 1000))
        configuration.requestTimeout = .milliseconds(Int64(timeout * 1000))
        configuration.reconnect.enabled = false
        if let creds = value(creds, "NATS_CREDS") {
            configuration.authentication = .credentialsFile(creds)
        } else if let nkey = value(nkey, "NATS_NKEY") {
            guard let nkeySeed else {
                throw ProtoqueueError(.invalidConfiguration, "--nkey needs --nkey-seed, the file holding its seed")
            }
            configuration.authentication = .nkey(publicKey: nkey, seedFile: nkeySeed)
        } else if let token = value(token, "NATS_TOKEN") {
            configuration.authentication = .token(token)
        } else if let user = value(user, "NATS_USER") {
            configuration.authentication = .userPassword(user: user, password: value(password, "NATS_PASSWORD") ?? "")
        }
        let ca = value(tlsCA, "NATS_CA")
        let cert = value(tlsCert, "NATS_CERT")
        let key = value(tlsKey, "NATS_KEY")
        if ca != nil || cert != nil || key != nil {
            configuration.tls = .init(caFile: ca, clientCertificateFile: cert, clientKeyFile: key)
        }
        return configuration
    }

    /// Connects, runs `body`, and closes the connection.
    func withConnection<T>(
        _ body: (NATSConnection, Logger) async throws(ProtoqueueError) -> T
    ) async throws(ProtoqueueError) -> T {
        let logger = Logger(label: "protoqueue") { _ in SwiftLogNoOpLogHandler() }
        let connection = try await NATSConnection.connect(try configuration(), logger: logger)
        do {
            let result = try await body(connection, logger)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }
}
