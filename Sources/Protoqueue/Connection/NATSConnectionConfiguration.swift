/// Everything needed to connect to a NATS server or cluster.
///
/// ## Overview
/// ```swift
/// var configuration = NATSConnectionConfiguration(servers: ["nats://127.0.0.1:4222"])
/// configuration.name = "billing-producer"
/// configuration.authentication = .userPassword(user: "billing", password: secret)
/// let connection = try await NATSConnection.connect(configuration, logger: logger)
/// ```
public struct NATSConnectionConfiguration: Sendable {
    /// Server URLs (`nats://host:port`, `tls://host:port`); several URLs name the members of a cluster.
    public var servers: [String]
    /// The client name shown by the server's monitoring endpoints.
    public var name: String?
    /// How the client proves who it is; `nil` connects without credentials.
    public var authentication: Authentication?
    /// TLS settings; `nil` uses TLS only if a URL has the `tls://` scheme (with the system's trust store).
    public var tls: TLS?
    /// Reconnect behaviour after a lost connection.
    public var reconnect: Reconnect
    /// How long one attempt to connect to one server may take.
    public var connectTimeout: Duration
    /// How long a request to the server (a publish acknowledgement, a JetStream API call) may take.
    public var requestTimeout: Duration
    /// Send every protocol message at once instead of letting nats.c's flusher batch them for about 1 ms.
    /// On by default: it made one-at-a-time enqueue and fetch/ack loops several times faster and did not slow
    /// batch publishing (`docs/benchmarks.md` has the measurements).
    public var sendAsap: Bool
    /// Threads the connection owns for blocking nats.c calls.
    public var blockingThreads: Int

    /// Creates a configuration.
    /// - Parameters:
    ///   - servers: Server URLs; defaults to `nats://127.0.0.1:4222`.
    ///   - name: The client name.
    ///   - authentication: Credentials, if any.
    ///   - tls: TLS settings, if any.
    ///   - reconnect: Reconnect behaviour.
    ///   - connectTimeout: Per-server connect timeout (default 2 s).
    ///   - requestTimeout: Request timeout (default 5 s).
    ///   - sendAsap: Send each protocol message immediately (default `true`).
    ///   - blockingThreads: Threads for blocking calls (default 4).
    public init(
        servers: [String] = ["nats://127.0.0.1:4222"],
        name: String? = nil,
        authentication: Authentication? = nil,
        tls: TLS? = nil,
        reconnect: Reconnect = Reconnect(),
        connectTimeout: Duration = .seconds(2),
        requestTimeout: Duration = .seconds(5),
        sendAsap: Bool = true,
        blockingThreads: Int = 4
    ) {
        self.servers = servers
        self.name = name
        self.authentication = authentication
        self.tls = tls
        self.reconnect = reconnect
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.sendAsap = sendAsap
        self.blockingThreads = blockingThreads
    }

    /// Credentials for the server.
    public struct Authentication: Sendable, Hashable, CustomStringConvertible {
        enum Kind: Sendable, Hashable {
            case userPassword(user: String, password: String)
            case token(String)
            case nkey(publicKey: String, seedFile: String)
            case credentialsFile(String)
        }

        let kind: Kind

        /// User and password (`authorization { users = [...] }` on the server).
        public static func userPassword(user: String, password: String) -> Self {
            Self(kind: .userPassword(user: user, password: password))
        }

        /// A shared token (`authorization { token: ... }`).
        public static func token(_ token: String) -> Self { Self(kind: .token(token)) }

        /// An NKey: the user's public key (`U...`) and the path of the file holding its seed (`SU...`).
        public static func nkey(publicKey: String, seedFile: String) -> Self {
            Self(kind: .nkey(publicKey: publicKey, seedFile: seedFile))
        }

        /// A `.creds` file holding a user JWT and its NKey seed (decentralized auth).
        public static func credentialsFile(_ path: String) -> Self { Self(kind: .credentialsFile(path)) }

        /// The method, never the secret.
        public var description: String {
            switch kind {
            case .userPassword(let user, _): "user/password (user \"\(user)\")"
            case .token: "token"
            case .nkey(let publicKey, _): "nkey \(publicKey)"
            case .credentialsFile(let path): "credentials file \(path)"
            }
        }
    }

    /// TLS settings. The server's certificate is always verified.
    public struct TLS: Sendable, Hashable {
        /// PEM file of the certificate authorities to trust; `nil` uses the system's trust store.
        public var caFile: String?
        /// PEM client certificate for mutual TLS.
        public var clientCertificateFile: String?
        /// PEM private key of the client certificate.
        public var clientKeyFile: String?
        /// The host name the server's certificate must carry, when it differs from the URL's host.
        public var expectedHostname: String?

        /// Creates TLS settings.
        /// - Parameters:
        ///   - caFile: Trusted CA certificates (PEM).
        ///   - clientCertificateFile: Client certificate (PEM), for mutual TLS.
        ///   - clientKeyFile: Client key (PEM), for mutual TLS.
        ///   - expectedHostname: Host name to verify instead of the URL's.
        public init(
            caFile: String? = nil,
            clientCertificateFile: String? = nil,
            clientKeyFile: String? = nil,
            expectedHostname: String? = nil
        ) {
            self.caFile = caFile
            self.clientCertificateFile = clientCertificateFile
            self.clientKeyFile = clientKeyFile
            self.expectedHostname = expectedHostname
        }
    }

    /// Reconnect behaviour.
    public struct Reconnect: Sendable, Hashable {
        /// Whether to reconnect at all after a lost connection.
        public var enabled: Bool
        /// Attempts per server before giving up; `nil` retries forever.
        public var maxAttempts: Int?
        /// Pause between attempts on the same server.
        public var wait: Duration
        /// Random extra pause added to ``wait`` (plain connections).
        public var jitter: Duration
        /// Random extra pause added to ``wait`` (TLS connections).
        public var jitterTLS: Duration
        /// Bytes of publishes buffered while disconnected; a publish beyond it fails with
        /// ``ProtoqueueCodec/ProtoqueueError/Code/backpressure``.
        public var bufferSize: Int

        /// Creates reconnect settings (defaults: on, 60 attempts, 2 s wait, 100 ms / 1 s jitter, 8 MiB buffer).
        public init(
            enabled: Bool = true,
            maxAttempts: Int? = 60,
            wait: Duration = .seconds(2),
            jitter: Duration = .milliseconds(100),
            jitterTLS: Duration = .seconds(1),
            bufferSize: Int = 8 * 1024 * 1024
        ) {
            self.enabled = enabled
            self.maxAttempts = maxAttempts
            self.wait = wait
            self.jitter = jitter
            self.jitterTLS = jitterTLS
            self.bufferSize = bufferSize
        }
    }
}
