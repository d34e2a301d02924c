import CProtobufC
import CTaskSchemas
import TaskSchemas

/// The message both codec scenarios measure: a realistic EmailTask of about 100 bytes.
enum SampleEmailTask {
    static let value = EmailTask(
        to: "ada.lovelace@example.com",
        subject: "Your invoice #20931 is ready",
        templateID: "invoice-ready-v2",
        templateValues: ["amount": "42.00 EUR", "due": "2026-12-01"],
        cc: [],
        priority: .high,
        requester: Requester(accountID: "acct_8f2c", service: "billing-api")
    )

    /// Encodes `value` once.
    static func encoded() throws -> [UInt8] {
        try value.serializedBytes()
    }
}
