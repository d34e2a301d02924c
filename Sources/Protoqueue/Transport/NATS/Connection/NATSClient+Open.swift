import CNats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension NATSClient {
    /// Runs on a library thread: builds the options and connects (blocking up to the connect timeout per server).
    /// Returns the `natsConnection*` and its `natsOptions*`; `events` receives the connection's callbacks.
    static func openConnection(
        _ configuration: NATSConnectionConfiguration,
        events: ConnectionEvents
    ) throws(ProtoqueueError) -> (connection: OpaquePointer, options: OpaquePointer) {
        var optionsPointer: OpaquePointer?
        var status = natsOptions_Create(&optionsPointer)
        guard status == NATS_OK, let options = optionsPointer else {
            throw NATSErrorMapping.error(status: status, operation: "create connection options")
        }
        func check(_ status: natsStatus, _ what: String) throws(ProtoqueueError) {
            guard status == NATS_OK else {
                natsOptions_Destroy(options)
                throw NATSErrorMapping.optionError(status: status, option: what, isTLS: what.hasPrefix("TLS"))
            }
        }

        var cServers = configuration.servers.map { strdup($0) }
        defer { cServers.forEach { free($0) } }
        status = cServers.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                natsOptions_SetServers(options, $0, Int32(buffer.count))
            }
        }
        try check(status, "server URLs \(configuration.servers)")
        if let name = configuration.name { try check(natsOptions_SetName(options, name), "client name") }
        switch configuration.authentication?.kind {
        case .userPassword(let user, let password)?:
            try check(natsOptions_SetUserInfo(options, user, password), "user/password")
        case .token(let token)?:
            try check(natsOptions_SetToken(options, token), "token")
        case .nkey(let publicKey, let seedFile)?:
            if let signer = events.signer {
                let closure = Unmanaged.passUnretained(signer).toOpaque()
                try check(natsOptions_SetNKey(options, publicKey, natsSignatureTrampoline, closure), "NKey")
            } else {
                try check(natsOptions_SetNKeyFromSeed(options, publicKey, seedFile), "NKey seed file \(seedFile)")
            }
        case .credentialsFile(let path)?:
            if let signer = events.signer {
                let closure = Unmanaged.passUnretained(signer).toOpaque()
                let status = natsOptions_SetUserCredentialsCallbacks(
                    options, natsUserJWTTrampoline, closure, natsSignatureTrampoline, closure
                )
                try check(status, "credentials file \(path)")
            } else {
                try check(natsOptions_SetUserCredentialsFromFiles(options, path, nil), "credentials file \(path)")
            }
        case nil:
            break
        }
        // A `tls://` URL means TLS even without a TLS configuration: nats.c 3.4.1 would otherwise connect in plaintext
        // to a server that does not offer TLS.
        let usesTLS = configuration.tls != nil || configuration.servers.contains { $0.lowercased().hasPrefix("tls://") }
        if usesTLS && configuration.tls == nil {
            try check(natsOptions_SetSecure(options, true), "TLS")
        }
        if let tls = configuration.tls {
            try check(natsOptions_SetSecure(options, true), "TLS")
            if let ca = tls.caFile {
                try check(natsOptions_LoadCATrustedCertificates(options, ca), "TLS CA file \(ca)")
            }
            if let cert = tls.clientCertificateFile, let key = tls.clientKeyFile {
                try check(natsOptions_LoadCertificatesChain(options, cert, key), "TLS client certificate \(cert)")
            }
            if let host = tls.expectedHostname {
                try check(natsOptions_SetExpectedHostname(options, host), "TLS expected hostname")
            }
        }
        let reconnect = configuration.reconnect
        try check(natsOptions_SetAllowReconnect(options, reconnect.enabled), "reconnect")
        try check(
            natsOptions_SetMaxReconnect(options, Int32(clamping: reconnect.maxAttempts ?? -1)), "reconnect attempts")
        try check(natsOptions_SetReconnectWait(options, reconnect.wait.milliseconds), "reconnect wait")
        try check(
            natsOptions_SetReconnectJitter(options, reconnect.jitter.milliseconds, reconnect.jitterTLS.milliseconds),
            "reconnect jitter")
        try check(
            natsOptions_SetReconnectBufSize(options, Int32(clamping: reconnect.bufferSize)), "reconnect buffer size")
        try check(natsOptions_SetTimeout(options, configuration.connectTimeout.milliseconds), "connect timeout")
        try check(natsOptions_SetSendAsap(options, configuration.sendAsap), "send-asap")

        let box = Unmanaged.passRetained(events).toOpaque()
        try check(natsOptions_SetErrorHandler(options, natsErrorTrampoline, box), "error handler")
        try check(natsOptions_SetDisconnectedCB(options, natsDisconnectedTrampoline, box), "disconnected callback")
        try check(natsOptions_SetReconnectedCB(options, natsReconnectedTrampoline, box), "reconnected callback")
        try check(natsOptions_SetClosedCB(options, natsClosedTrampoline, box), "closed callback")

        let started = MonotonicClock.nanoseconds()
        var connectionPointer: OpaquePointer?
        status = natsConnection_Connect(&connectionPointer, options)
        // A nonce signature refused by the signer (see NonceSigner): try again, with a fresh nonce.
        for _ in 0..<3 where status != NATS_OK && events.signer?.takeAbandoned() == true {
            status = natsConnection_Connect(&connectionPointer, options)
        }
        guard status == NATS_OK, let connection = connectionPointer else {
            // No connection was made, so nats.c will not call the closed callback: release the box here.
            Unmanaged<ConnectionEvents>.fromOpaque(box).release()
            natsOptions_Destroy(options)
            var credentialFiles: [String] = []
            switch configuration.authentication?.kind {
            case .nkey(_, let seedFile)?: credentialFiles = [seedFile]
            case .credentialsFile(let path)?: credentialFiles = [path]
            default: break
            }
            let elapsed = Duration.nanoseconds(Int64(MonotonicClock.nanoseconds() - started))
            throw NATSErrorMapping.connectError(
                status: status, servers: events.serverList, connectTimeout: configuration.connectTimeout,
                elapsed: elapsed,
                usesTLS: usesTLS, credentialFiles: credentialFiles
            )
        }
        return (connection, options)
    }
}
