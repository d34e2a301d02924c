import CNats

/// The one place where nats.c statuses and JetStream API error codes become ``ProtoqueueError``s.
enum NATSErrorMapping {
    /// JetStream API error codes the library reacts to (see nats.h `jsErrCode`).
    enum JetStreamCode {
        static let notEnabled = 10076
        static let notEnabledForAccount = 10039
        static let streamNotFound = 10059
        static let consumerNotFound = 10014
        static let messageExceedsMaximum = 10054
        static let storeFailed = 10077
        static let streamNameInUse = 10058
        static let subjectsOverlap = 10065
        static let insufficientResources = 10023
        static let messageNotFound = 10037
        static let wrongLastSequence = 10071
    }

    /// What a "not found" answer is about.
    enum Missing {
        case stream
        case consumer
        case message
    }

    /// Whether a failed call says that the `what` it asked for does not exist (rather than failing otherwise).
    static func isNotFound(_ what: Missing, status: natsStatus, jsCode: Int) -> Bool {
        switch (what, jsCode) {
        case (.stream, JetStreamCode.streamNotFound), (.consumer, JetStreamCode.consumerNotFound),
            (.message, JetStreamCode.messageNotFound):
            return true
        case (_, 0):
            return status == NATS_NOT_FOUND
        default:
            return false
        }
    }

    /// The text nats.c recorded for the calling thread's last failure, if any.
    static func lastErrorText() -> String? {
        var status = NATS_OK
        guard let text = nats_GetLastError(&status), status != NATS_OK else { return nil }
        let string = String(cString: text)
        return string.isEmpty ? nil : string
    }

    /// Maps a failed nats.c call to a typed error.
    /// - Parameters:
    ///   - status: The status the call returned (not `NATS_OK`).
    ///   - jsCode: The JetStream error code it reported, or 0.
    ///   - operation: What was being done, for the message ("publish to \"tasks.a\"").
    ///   - subject: The subject published to, when the call was a publish.
    ///   - errorText: Extra text (the server's error description), when known.
    static func error(
        status: natsStatus,
        jsCode: Int = 0,
        operation: String,
        subject: String? = nil,
        errorText: String? = nil
    ) -> ProtoqueueError {
        let raw = Int32(bitPattern: status.rawValue)
        let js: Int? = jsCode == 0 ? nil : jsCode
        let detail = errorText ?? lastErrorText() ?? String(cString: natsStatus_GetText(status))
        func make(_ code: ProtoqueueError.Code, _ message: String) -> ProtoqueueError {
            var error = ProtoqueueError(code, message, natsStatus: raw, jetStreamErrorCode: js)
            error.operation = operation
            return error
        }

        switch jsCode {
        case JetStreamCode.notEnabled where status == NATS_NO_RESPONDERS && subject != nil:
            return make(.noStreamForSubject, "\(operation): no stream captures subject \"\(subject!)\" (no responders)")
        case JetStreamCode.notEnabled, JetStreamCode.notEnabledForAccount:
            return make(
                .jetStreamNotEnabled,
                "\(operation): JetStream is not enabled on the server or for this account (\(detail))")
        case JetStreamCode.streamNotFound:
            return make(.streamNotFound, "\(operation): stream not found (\(detail))")
        case JetStreamCode.consumerNotFound:
            return make(.streamNotFound, "\(operation): consumer not found (\(detail))")
        case JetStreamCode.messageNotFound:
            return make(.streamNotFound, "\(operation): message not found (\(detail))")
        case JetStreamCode.messageExceedsMaximum:
            return make(
                .payloadTooLarge,
                "\(operation): the stream refused the message as larger than its maximum message size (\(detail))")
        case JetStreamCode.wrongLastSequence:
            return make(.conflict, "\(operation): another writer changed the subject first (\(detail))")
        case JetStreamCode.streamNameInUse, JetStreamCode.subjectsOverlap:
            return make(.configurationMismatch, "\(operation): \(detail)")
        case 0:
            break
        default:
            if status != NATS_TIMEOUT {
                return make(.publishRejected, "\(operation): the server refused it (\(detail))")
            }
        }

        switch status {
        case NATS_NO_RESPONDERS:
            if let subject {
                return make(
                    .noStreamForSubject, "\(operation): no stream captures subject \"\(subject)\" (no responders)")
            }
            return make(.jetStreamNotEnabled, "\(operation): nobody answered (no responders); is JetStream enabled?")
        case NATS_TIMEOUT:
            return make(.timeout, "\(operation): timed out (\(detail))")
        case NATS_NOT_PERMITTED:
            return make(.permissionDenied, "\(operation): permission denied (\(detail))")
        case NATS_MAX_PAYLOAD:
            return make(.payloadTooLarge, "\(operation): \(detail)")
        case NATS_INSUFFICIENT_BUFFER:
            return make(.backpressure, "\(operation): client buffer full (\(detail))")
        case NATS_CONNECTION_AUTH_FAILED:
            return make(.authenticationFailed, "\(operation): authentication failed (\(detail))")
        case NATS_SSL_ERROR:
            return make(.tlsFailed, "\(operation): TLS error (\(detail))")
        case NATS_SECURE_CONNECTION_WANTED:
            return make(
                .tlsFailed,
                "\(operation): TLS is required by this client but the server does not offer it; refusing a plaintext "
                    + "connection (\(detail))"
            )
        case NATS_SECURE_CONNECTION_REQUIRED:
            return make(.tlsFailed, "\(operation): the server requires TLS (\(detail))")
        case NATS_CONNECTION_CLOSED, NATS_DRAINING, NATS_ILLEGAL_STATE:
            return make(.connectionClosed, "\(operation): the connection is closed (\(detail))")
        case NATS_NO_SERVER, NATS_IO_ERROR, NATS_CONNECTION_DISCONNECTED, NATS_STALE_CONNECTION:
            return make(.connectionFailed, "\(operation): \(detail)")
        case NATS_INVALID_ARG, NATS_INVALID_SUBJECT:
            return make(.invalidName, "\(operation): invalid argument (\(detail))")
        case NATS_NOT_FOUND:
            return make(.streamNotFound, "\(operation): not found (\(detail))")
        default:
            return make(.natsError, "\(operation): \(detail)")
        }
    }

    /// A failed `natsOptions_Set*` call: a bad option value is a configuration error (or a TLS error for TLS files).
    static func optionError(status: natsStatus, option: String, isTLS: Bool) -> ProtoqueueError {
        var error = error(status: status, operation: option)
        if isTLS {
            error.code = .tlsFailed
        } else if error.code == .natsError || error.code == .invalidName {
            error.code = .invalidConfiguration
        }
        return error
    }

    /// A failed `natsConnection_Connect`: names the URLs, the connect timeout and how long it took. Refused
    /// credentials stay ``ProtoqueueError/Code/authenticationFailed`` and TLS failures
    /// ``ProtoqueueError/Code/tlsFailed``.
    /// It also knows what a failed connect means for the configuration that was used:
    /// - a credentials or seed file nats.c could not read (it reads them while connecting) → `authenticationFailed`;
    /// - a TLS connection the server closed before answering the first PING → `tlsFailed`: with TLS 1.3 a server that
    ///   requires client certificates (mutual TLS) checks them after the handshake and hangs up, so the client only
    ///   sees the connection end.
    static func connectError(
        status: natsStatus,
        servers: String,
        connectTimeout: Duration,
        elapsed: Duration,
        usesTLS: Bool = false,
        credentialFiles: [String] = []
    ) -> ProtoqueueError {
        let detail = lastErrorText() ?? String(cString: natsStatus_GetText(status))
        let operation = "connect to \(servers)"
        var error = error(status: status, operation: operation, errorText: detail)
        if let file = credentialFiles.first(where: { detail.contains($0) }) {
            error.code = .authenticationFailed
            error.message = "\(operation): cannot use the credentials in \(file): \(detail)"
            return error
        }
        if usesTLS,
            status == NATS_PROTOCOL_ERROR || status == NATS_IO_ERROR || status == NATS_CONNECTION_CLOSED
                || status == NATS_ERR
        {
            error.code = .tlsFailed
            error.message =
                "\(operation): the server closed the TLS connection before completing the connect (it refused the "
                + "client certificate, or requires one: mutual TLS): \(detail)"
            return error
        }
        if error.code == .connectionFailed || error.code == .natsError || error.code == .timeout {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            error.code = .connectionFailed
            error.message =
                "could not connect to \(servers) (connect timeout \(connectTimeout), gave up after "
                + "\((seconds * 100).rounded() / 100) s): \(detail)"
        }
        return error
    }

    /// A permission error built from an asynchronous `NATS_NOT_PERMITTED` the connection's error handler saw.
    static func permissionDenied(operation: String, violation: PermissionViolation) -> ProtoqueueError {
        ProtoqueueError(
            .permissionDenied,
            "\(operation): permission denied: the server reported \"\(violation.text)\"",
            natsStatus: Int32(bitPattern: NATS_NOT_PERMITTED.rawValue)
        )
    }

    /// Parses the server's `Permissions Violation for Publish to "<subject>"` text.
    static func permissionViolation(fromText text: String) -> PermissionViolation? {
        let lower = text.lowercased()
        guard lower.contains("permissions violation") else { return nil }
        let kind: PermissionViolation.Kind = lower.contains("for publish") ? .publish : .subscribe
        var subject: String?
        if let open = text.firstIndex(of: "\"") {
            let rest = text[text.index(after: open)...]
            if let close = rest.firstIndex(of: "\"") {
                subject = String(rest[..<close])
            }
        }
        return PermissionViolation(kind: kind, subject: subject, text: text)
    }
}

/// A permission violation the server reported asynchronously.
struct PermissionViolation: Sendable, Equatable {
    enum Kind: Sendable, Equatable { case publish, subscribe }
    var kind: Kind
    /// The subject the server named, if the text could be parsed.
    var subject: String?
    /// The server's text.
    var text: String

    /// What a timed-out operation was sending, to tell whether a violation reported meanwhile explains it.
    enum Scope: Sendable, Equatable {
        /// A JetStream API request (`$JS.API.…`).
        case jetStreamAPI
        /// A publish to this subject.
        case publish(String)
    }

    /// Whether this violation explains a timeout of an operation in `scope`: a violation on the API for an API
    /// request (also one whose subject the server's text did not give), one on the very subject for a publish.
    func explains(_ scope: Scope) -> Bool {
        switch scope {
        case .jetStreamAPI: subject.map { $0.hasPrefix("$JS.API.") } ?? true
        case .publish(let target): subject == target
        }
    }
}
