/// Checks names and headers before anything reaches the network (nats.c checks almost none of them).
enum Validation {
    private static func isSpaceOrControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value <= 0x20 || scalar.value == 0x7F || scalar.properties.isWhitespace
    }

    /// Stream and consumer names: non-empty, at most 255 bytes, no `.`, `*`, `>`, `/`, `\`, whitespace or controls.
    static func name(_ value: String, kind: String) throws(ProtoqueueError) {
        guard !value.isEmpty else { throw ProtoqueueError(.invalidName, "\(kind) name must not be empty") }
        guard value.utf8.count <= 255 else {
            throw ProtoqueueError(.invalidName, "\(kind) name \"\(value)\" is longer than 255 bytes")
        }
        for scalar in value.unicodeScalars where isSpaceOrControl(scalar) || ".*>/\\".unicodeScalars.contains(scalar) {
            throw ProtoqueueError(
                .invalidName,
                "\(kind) name \"\(value)\" contains \"\(escaped(scalar))\"; names cannot contain '.', '*', '>', '/', "
                    + "'\\', whitespace or control characters"
            )
        }
    }

    /// A publish subject: dot-separated non-empty tokens, no wildcards, whitespace or controls.
    static func subject(_ value: String, kind: String = "subject") throws(ProtoqueueError) {
        guard !value.isEmpty else { throw ProtoqueueError(.invalidName, "\(kind) must not be empty") }
        for scalar in value.unicodeScalars where isSpaceOrControl(scalar) {
            throw ProtoqueueError(
                .invalidName,
                "\(kind) \"\(value)\" contains \"\(escaped(scalar))\"; subjects cannot contain whitespace or control "
                    + "characters"
            )
        }
        for token in value.split(separator: ".", omittingEmptySubsequences: false) {
            if token.isEmpty {
                throw ProtoqueueError(
                    .invalidName, "\(kind) \"\(value)\" has an empty token (leading, trailing or double '.')")
            }
            if token == "*" || token == ">" || token.contains("*") || token.contains(">") {
                throw ProtoqueueError(
                    .invalidName, "\(kind) \"\(value)\" contains a wildcard; publish subjects must be literal")
            }
        }
    }

    /// A single subject token (queue name part, tier): non-empty, no `.`, wildcards, whitespace or controls.
    static func token(_ value: String, kind: String) throws(ProtoqueueError) {
        try subject(value, kind: kind)
        if value.contains(".") {
            throw ProtoqueueError(.invalidName, "\(kind) \"\(value)\" must be one subject token (no '.')")
        }
    }

    /// A task id (sent as `Nats-Msg-Id`): 1…255 bytes of printable ASCII without spaces.
    static func taskID(_ value: String) throws(ProtoqueueError) {
        guard !value.isEmpty else { throw ProtoqueueError(.invalidName, "task id must not be empty") }
        guard value.utf8.count <= 255 else { throw ProtoqueueError(.invalidName, "task id is longer than 255 bytes") }
        for byte in value.utf8 where byte <= 0x20 || byte >= 0x7F {
            throw ProtoqueueError(
                .invalidName,
                "task id \"\(value)\" contains \"\(escaped(Unicode.Scalar(byte)))\"; ids are printable ASCII without "
                    + "spaces"
            )
        }
    }

    /// A metadata key: 1…128 bytes of `A–Z a–z 0–9 - _ .`, not starting with `Nats-` (any case).
    static func metadataKey(_ key: String, kind: String = "metadata key") throws(ProtoqueueError) {
        guard !key.isEmpty else { throw ProtoqueueError(.invalidHeader, "\(kind) must not be empty") }
        guard key.utf8.count <= 128 else {
            throw ProtoqueueError(.invalidHeader, "\(kind) \"\(key)\" is longer than 128 bytes")
        }
        if key.lowercased().hasPrefix("nats-") {
            throw ProtoqueueError(
                .invalidHeader,
                "\(kind) \"\(key)\" starts with \"Nats-\", which the server reserves for control headers")
        }
        for scalar in key.unicodeScalars {
            let ok =
                (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "-" || scalar == "_" || scalar == "."
            if !ok {
                throw ProtoqueueError(
                    .invalidHeader,
                    "\(kind) \"\(key)\" contains \"\(escaped(scalar))\"; keys may hold only letters, digits, '-', "
                        + "'_' and '.' (no ':', whitespace, CR or LF)"
                )
            }
        }
    }

    /// A metadata value: any UTF-8 except CR, LF and NUL (nats.c would silently turn CR/LF into spaces).
    static func metadataValue(
        _ value: String, key: String, kind: String = "metadata value"
    ) throws(ProtoqueueError) {
        guard value.utf8.count <= 4096 else {
            throw ProtoqueueError(.invalidHeader, "\(kind) for \"\(key)\" is longer than 4096 bytes")
        }
        for scalar in value.unicodeScalars where scalar == "\r" || scalar == "\n" || scalar == "\0" {
            throw ProtoqueueError(
                .invalidHeader,
                "\(kind) for \"\(key)\" contains \"\(escaped(scalar))\"; header values cannot hold CR, LF or NUL"
            )
        }
        // nats.c 3.4.1 reads an empty header value as the whole next header line (which is then lost), and strips
        // spaces and tabs around a value: such values would not arrive as sent.
        if value.isEmpty {
            throw ProtoqueueError(
                .invalidHeader,
                "\(kind) for \"\(key)\" is empty; NATS headers cannot carry an empty value (omit the key "
                    + "instead)"
            )
        }
        if value.unicodeScalars.first?.isSpaceOrTab == true || value.unicodeScalars.last?.isSpaceOrTab == true {
            throw ProtoqueueError(
                .invalidHeader,
                "\(kind) for \"\(key)\" starts or ends with a space or tab, which NATS clients strip when "
                    + "reading headers"
            )
        }
    }
    /// An extra header a middleware adds (``OutgoingTask/headers``): named like a metadata key but outside the
    /// `Nats-` and `Protoqueue-` names, valued like metadata.
    static func extraHeader(_ name: String, value: String) throws(ProtoqueueError) {
        if name.lowercased().hasPrefix("protoqueue-") {
            throw ProtoqueueError(
                .invalidHeader,
                "header \"\(name)\" starts with \"Protoqueue-\", which the library reserves; use metadata instead")
        }
        try metadataKey(name, kind: "header")
        try metadataValue(value, key: name, kind: "header value")
    }

    static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\r": "\\r"
        case "\n": "\\n"
        case "\t": "\\t"
        case "\0": "\\0"
        case " ": " "
        default: scalar.value < 0x20 ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
        }
    }
}
