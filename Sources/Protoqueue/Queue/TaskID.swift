import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A task's id: its idempotency key on enqueue (`Nats-Msg-Id`) and how every later stage names it.
///
/// ## Overview
/// The same id appears in ``EnqueueReceipt/id``, ``TaskContext/id``, ``StoredTask/id`` and ``DeadLetter/id``,
/// and survives a dead-letter replay. An id you give is enqueued as it is; enqueueing it again inside the stream's
/// duplicate window stores the task once.
/// ```swift
/// try await queue.enqueue(task, options: .init(id: "invoice-2026-11-0042"))
/// try await queue.enqueue(task, options: .init(id: TaskID(order.number)))
/// let fresh = TaskID.random()      // what an enqueue without an id uses
/// ```
/// On enqueue an id must be 1–255 bytes of printable ASCII without spaces (anything else is refused with
/// ``ProtoqueueCodec/ProtoqueueError/Code/invalidName`` before sending). Ids read back from the server are taken as
/// they are: a producer in another language may have set any `Nats-Msg-Id`.
public struct TaskID: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible,
    ExpressibleByStringInterpolation
{
    /// The id's text.
    public let rawValue: String

    /// Creates an id from its text.
    /// - Parameter rawValue: The id's text.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Creates an id from its text.
    /// - Parameter text: The id's text.
    public init(_ text: String) { self.rawValue = text }

    /// Creates an id from a string literal.
    /// - Parameter value: The id's text.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// Creates an id from an interpolated string literal, such as `"invoice-\(number)"`.
    /// - Parameter interpolation: The interpolated text.
    public init(stringInterpolation interpolation: DefaultStringInterpolation) {
        self.rawValue = String(stringInterpolation: interpolation)
    }

    /// A random id: an RFC 4122 version-4 UUID in lower case.
    public static func random() -> TaskID { TaskID(TaskIDGenerator.make()) }

    /// The id's text.
    public var description: String { rawValue }

    /// Orders ids by their text.
    public static func < (lhs: TaskID, rhs: TaskID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Random task ids: RFC 4122 version-4 UUIDs in lower case.
///
/// Randomness is read from the kernel 4 KiB at a time (256 ids per read): the system generator makes a system call
/// per 8 bytes, which cost more than the rest of preparing a task.
enum TaskIDGenerator {
    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: 4096)
        var used = 4096
        var generation: UInt = 0
    }
    private static let pool = Mutex(Pool())
    /// Bumped in a forked child (`pthread_atfork`), which then refills instead of repeating its parent's ids.
    private static let forkGeneration: Atomic<UInt> = {
        pthread_atfork(nil, nil, { TaskIDGenerator.forkGeneration.add(1, ordering: .relaxed) })
        return Atomic<UInt>(1)
    }()
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Fills `buffer` from `/dev/urandom`, or from the system generator if that cannot be read.
    private static func refill(_ buffer: UnsafeMutableRawBufferPointer) {
        var filled = 0
        let descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            while filled < buffer.count {
                let count = read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
                if count <= 0 { break }
                filled += count
            }
            close(descriptor)
        }
        if filled < buffer.count {
            var generator = SystemRandomNumberGenerator()
            for offset in stride(from: 0, to: buffer.count, by: 8) {
                buffer.storeBytes(of: generator.next(), toByteOffset: offset, as: UInt64.self)
            }
        }
    }

    static func make() -> String {
        var random: (UInt64, UInt64) = pool.withLock { pool in
            let generation = forkGeneration.load(ordering: .relaxed)
            if pool.used == pool.bytes.count || pool.generation != generation {
                pool.bytes.withUnsafeMutableBytes(refill)
                pool.used = 0
                pool.generation = generation
            }
            defer { pool.used += 16 }
            return pool.bytes.withUnsafeBytes { buffer in
                (
                    buffer.loadUnaligned(fromByteOffset: pool.used, as: UInt64.self),
                    buffer.loadUnaligned(fromByteOffset: pool.used + 8, as: UInt64.self)
                )
            }
        }
        return withUnsafeMutableBytes(of: &random) { bytes in
            bytes[6] = (bytes[6] & 0x0F) | 0x40
            bytes[8] = (bytes[8] & 0x3F) | 0x80
            return String(unsafeUninitializedCapacity: 36) { text in
                var position = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    text[position] = hex[Int(bytes[index] >> 4)]
                    text[position + 1] = hex[Int(bytes[index] & 0x0F)]
                    position += 2
                }
                return position
            }
        }
    }
}
