import ProtoqueueSchema
import Synchronization

/// What a connection registered already (schemas and policies by stream), so that opening the same queue again in
/// the process asks the server nothing.
final class RegistrationMemory: Sendable {
    private let keys = Mutex<Set<String>>([])

    static func schemaKey(stream: String, _ fingerprint: SchemaFingerprint) -> String { "\(stream) \(fingerprint)" }

    func contains(_ key: String) -> Bool { keys.withLock { $0.contains(key) } }
    func insert(_ key: String) { _ = keys.withLock { $0.insert(key) } }
    func remove(_ key: String) { _ = keys.withLock { $0.remove(key) } }
}
