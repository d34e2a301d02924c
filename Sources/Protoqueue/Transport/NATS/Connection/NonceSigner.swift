import CNats
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Signs the server's nonce for NKey and `.creds` authentication in nats.c's place, and refuses a signature whose
/// first byte is 0.
///
/// nats.c before 3.10.0 base64-encodes the signature with a helper that returns nothing when the first byte is 0
/// (nats.c #705): the CONNECT then goes out without `sig` and the server answers `Authorization Violation`, for
/// about one nonce in 256 (the server draws a new nonce per connection). Such an attempt fails in the signature
/// handler instead, before the CONNECT is sent, and is made again with a fresh nonce: by
/// ``NATSClient/openConnection(_:events:)`` when connecting, by nats.c's own loop when reconnecting.
/// The seed and the JWT are read from their files at every signing, as nats.c does.
final class NonceSigner: Sendable {
    enum Source: Sendable, Equatable {
        case seedFile(String)
        case credentialsFile(String)
    }

    let source: Source
    private let abandoned = Atomic<Int>(0)

    /// A signer for `source` when its file holds what signing needs (a seed, and a JWT in a `.creds` file);
    /// `nil` otherwise, so that nats.c's own setup reports the file's problem as before.
    init?(_ source: Source) {
        self.source = source
        guard (try? seed()) != nil else { return nil }
        if case .credentialsFile = source, (try? jwt()) == nil { return nil }
    }

    /// The signer `authentication` needs: one for an NKey seed file or a `.creds` file, `nil` for the others.
    static func make(for authentication: NATSConnectionConfiguration.Authentication?) -> NonceSigner? {
        switch authentication?.kind {
        case .nkey(_, let seedFile)?: NonceSigner(.seedFile(seedFile))
        case .credentialsFile(let path)?: NonceSigner(.credentialsFile(path))
        default: nil
        }
    }

    /// The encoded user seed (`SU…`): the first word of the file that starts with `SU`.
    func seed() throws(ProtoqueueError) -> String {
        let path: String
        switch source {
        case .seedFile(let file), .credentialsFile(let file): path = file
        }
        guard let word = Self.words(inFile: path).first(where: { $0.hasPrefix("SU") }) else {
            throw ProtoqueueError(.authenticationFailed, "no user seed (SU…) in \(path)")
        }
        return word
    }

    /// The user JWT of a `.creds` file: the first line after `-----BEGIN NATS USER JWT-----`.
    func jwt() throws(ProtoqueueError) -> String {
        guard case .credentialsFile(let path) = source,
            let text = try? String(contentsOfFile: path, encoding: .utf8)
        else { throw ProtoqueueError(.authenticationFailed, "no credentials file to read a JWT from") }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(where: { $0.contains("BEGIN NATS USER JWT") }),
            let jwt = lines[(begin + 1)...].first(where: { !$0.isEmpty }), !jwt.hasPrefix("--")
        else { throw ProtoqueueError(.authenticationFailed, "no user JWT in \(path)") }
        return jwt
    }

    /// Whether a signature was refused since the last call (and the connect may be tried again).
    func takeAbandoned() -> Bool { abandoned.exchange(0, ordering: .relaxed) > 0 }

    /// Signs `nonce`; refuses (`NATS_ERR`) a signature that nats.c would send empty.
    fileprivate func sign(
        _ nonce: UnsafePointer<CChar>?, signature: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
        length: UnsafeMutablePointer<Int32>?, errorText: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> natsStatus {
        let seed: String
        do throws(ProtoqueueError) {
            seed = try self.seed()
        } catch {
            errorText?.pointee = strdup(error.message)
            return NATS_ERR
        }
        var signed: UnsafeMutablePointer<UInt8>?
        var count: Int32 = 0
        let status = nats_Sign(seed, nonce, &signed, &count)
        guard status == NATS_OK, let signed else { return status == NATS_OK ? NATS_ERR : status }
        if count > 0 && signed[0] == 0 {
            free(signed)
            abandoned.add(1, ordering: .relaxed)
            errorText?.pointee = strdup("the nonce signature starts with 0, which nats.c < 3.10 sends empty")
            return NATS_ERR
        }
        signature?.pointee = signed
        length?.pointee = count
        return NATS_OK
    }

    /// A copy of the user JWT for nats.c, which frees it.
    fileprivate func copyJWT(
        into jwt: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        errorText: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> natsStatus {
        do throws(ProtoqueueError) {
            jwt?.pointee = strdup(try self.jwt())
            return NATS_OK
        } catch {
            errorText?.pointee = strdup(error.message)
            return NATS_ERR
        }
    }

    private static func words(inFile path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
    }
}

/// nats.c's signature handler: the closure is the ``NonceSigner``, kept alive by the connection's events.
let natsSignatureTrampoline: natsSignatureHandler = { errorText, signature, length, nonce, closure in
    guard let closure else { return NATS_ERR }
    let signer = Unmanaged<NonceSigner>.fromOpaque(closure).takeUnretainedValue()
    return signer.sign(nonce, signature: signature, length: length, errorText: errorText)
}

/// nats.c's user JWT handler for a `.creds` file.
let natsUserJWTTrampoline: natsUserJWTHandler = { jwt, errorText, closure in
    guard let closure else { return NATS_ERR }
    return Unmanaged<NonceSigner>.fromOpaque(closure).takeUnretainedValue().copyJWT(into: jwt, errorText: errorText)
}
