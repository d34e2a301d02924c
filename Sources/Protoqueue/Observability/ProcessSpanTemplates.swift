import Synchronization
import Tracing

/// The name and fixed attributes of the `process` spans of one subject and consumer group, made once: a `process`
/// span then costs its attributes two insertions (the task id and the attempt) instead of seven, and its name no
/// new string. Most tasks of a worker come from the subject of the last one, which is compared before any lookup.
final class ProcessSpanTemplates: Sendable {
    struct Template: Sendable {
        let subject: String
        let consumer: String
        /// `process <subject>`.
        let name: String
        /// The common messaging attributes and the consumer group, with room for the per-task ones.
        let attributes: SpanAttributes
    }

    private struct Key: Hashable {
        let subject: String
        let consumer: String
    }

    private struct State {
        var all: [Key: Template] = [:]
        var last: Template?
    }

    private let state = Mutex(State())

    /// The template of `subject` and `consumer`, made on first use.
    func template(subject: String, consumer: String) -> Template {
        state.withLock { state in
            if let last = state.last, last.subject == subject, last.consumer == consumer { return last }
            let key = Key(subject: subject, consumer: consumer)
            let template = state.all[key] ?? Self.make(subject: subject, consumer: consumer)
            state.all[key] = template
            state.last = template
            return template
        }
    }

    private static func make(subject: String, consumer: String) -> Template {
        // Room for the task id, the attempt and `error.type`.
        var attributes = MessagingAttributes.common(operation: "process", destination: subject, more: 4)
        attributes.set("messaging.consumer.group.name", value: .string(consumer))
        return Template(subject: subject, consumer: consumer, name: "process \(subject)", attributes: attributes)
    }
}
