/// A short, stable name for one version of a task type's schema: the first 16 bytes of the SHA-256 of its
/// serialized `FileDescriptorSet` (without source info), as 32 lowercase hex digits. Equal schemas built from
/// equal `.proto` files get equal fingerprints on every machine; editing a comment does not change it.
public struct SchemaFingerprint: Sendable, Hashable, CustomStringConvertible, Comparable {
    /// The 32 hex digits.
    public let rawValue: String

    /// The fingerprint of a serialized `FileDescriptorSet`.
    public init(descriptorSet: [UInt8]) {
        let digest = SHA256.digest(descriptorSet).prefix(16)
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in digest { text += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]] }
        self.rawValue = String(decoding: text, as: UTF8.self)
    }

    /// A fingerprint read from a header or subject; `nil` unless it is 32 lowercase hex digits.
    public init?(_ text: String) {
        guard text.utf8.count == 32, text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        self.rawValue = text
    }

    /// The 32 hex digits.
    public var description: String { rawValue }

    /// Orders fingerprints by their digits.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
