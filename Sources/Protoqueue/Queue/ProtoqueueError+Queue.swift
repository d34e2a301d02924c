extension ProtoqueueError.Code {
    /// No server could be reached, or the connection was lost for good.
    public static let connectionFailed = Self("connectionFailed")
    /// The server refused the credentials (user/password, token, NKey, `.creds`).
    public static let authenticationFailed = Self("authenticationFailed")
    /// TLS could not be set up: unreadable certificate files or a failed handshake.
    public static let tlsFailed = Self("tlsFailed")
    /// The connection is closed (``NATSConnection/close()`` was called or nats.c gave up reconnecting).
    public static let connectionClosed = Self("connectionClosed")
    /// The server did not answer in time.
    public static let timeout = Self("timeout")
    /// The user may not publish to (or subscribe to) the subject named in the message.
    public static let permissionDenied = Self("permissionDenied")
    /// No JetStream stream captured the subject that was published to, for 2 s of sending again.
    public static let noStreamForSubject = Self("noStreamForSubject")
    /// The message (headers included) is larger than the server's or the stream's limit; checked before sending.
    public static let payloadTooLarge = Self("payloadTooLarge")
    /// A subject, stream name, consumer name, task id or tier is not valid; checked before touching the network.
    public static let invalidName = Self("invalidName")
    /// A metadata key or value cannot be carried as a NATS header; checked before touching the network.
    public static let invalidHeader = Self("invalidHeader")
    /// A configuration value is out of range or inconsistent.
    public static let invalidConfiguration = Self("invalidConfiguration")
    /// An existing stream or consumer differs from the queue's configuration in a way that matters;
    /// the message lists every difference. Nothing was changed on the server.
    public static let configurationMismatch = Self("configurationMismatch")
    /// The stream (or consumer) does not exist.
    public static let streamNotFound = Self("streamNotFound")
    /// The server refused to store a published message (for example a stream limit with discard-new).
    public static let publishRejected = Self("publishRejected")
    /// The client's buffers are full (for example the reconnect buffer while disconnected).
    public static let backpressure = Self("backpressure")
    /// JetStream is not enabled on the server or for the account.
    public static let jetStreamNotEnabled = Self("jetStreamNotEnabled")
    /// Any other failure reported by nats.c or the JetStream API; the message carries its text.
    public static let natsError = Self("natsError")
    /// The operation was cancelled.
    public static let cancelled = Self("cancelled")
    /// A conditional write lost to another writer: the record it expected to replace had changed
    /// (`Nats-Expected-Last-Subject-Sequence`). Nothing was stored.
    public static let conflict = Self("conflict")
    /// A unique task's key is taken by another task in scope (``Uniqueness/OnDuplicate/fail``); nothing was stored.
    public static let duplicate = Self("duplicate")
    /// A ``QueueMiddleware`` refused the task; nothing was sent.
    public static let refused = Self("refused")
    /// The server is too old for the operation; the message names the version it needs.
    public static let unsupportedByServer = Self("unsupportedByServer")
}
