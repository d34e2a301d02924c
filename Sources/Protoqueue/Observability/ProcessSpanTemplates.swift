import Tracing

/// The name and fixed attributes of the `process` spans of one subject and consumer group, made once: a `process`
/// span then costs its attributes two insertions (the task id and the attempt) instead of seven, and its name no
/// new string.
final class ProcessSpanTemplates: Sendable {
    struct Template: Sendable {
        /// `process <subject>`.
        let name: String
        /// The common messaging attributes and the consumer group, with room for the per-task ones.
        let attributes: SpanAttributes
    }

    private struct Key: Hashable, Sendable {
        let subject: String
        let consumer: String
    }

    private let made = MadeOnce<Key, Template>()

    /// The template of `subject` and `consumer`, made on first use.
    func template(subject: String, consumer: String) -> Template {
        made.value(for: Key(subject: subject, consumer: consumer)) { key in
            // Room for the task id, the attempt and `error.type`.
            var attributes = MessagingAttributes.common(operation: "process", destination: key.subject, more: 4)
            attributes.set("messaging.consumer.group.name", value: .string(key.consumer))
            return Template(name: "process \(key.subject)", attributes: attributes)
        }
    }
}
