/// Reads unsigned decimal numbers straight from bytes (subject tokens, acknowledgement JSON), without building
/// strings: these run once per message.
enum DecimalDigits {
    /// The value of `digits`, which must all be ASCII digits; `nil` when empty, when a byte is not a digit, or when
    /// the value does not fit in a `UInt64`.
    static func value(_ digits: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// The value of `text`, which must be all ASCII digits, as ``value(_:)`` reads it.
    static func value(of text: String) -> UInt64? {
        var text = text
        return text.withUTF8 { value($0) }
    }

    /// Whether `byte` is an ASCII digit.
    static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}
