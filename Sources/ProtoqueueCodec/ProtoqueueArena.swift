public import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bump allocator for the C structs, arrays and strings one encode builds before protobuf-c packs them.
///
/// Generated code only. The first block is a stack buffer supplied by
/// ``ProtoqueueRuntime/encode(_:initialize:_:)``; larger messages spill into `malloc`ed blocks that are freed
/// when the arena goes away, so a small message encodes without any heap allocation for its C form.
@_spi(ProtoqueueGenerated)
public struct ProtoqueueArena: ~Copyable {
    @usableFromInline var cursor: UnsafeMutableRawPointer
    @usableFromInline var end: UnsafeMutableRawPointer
    @usableFromInline var blocks: [UnsafeMutableRawPointer] = []

    /// Creates an arena that allocates from `buffer` first.
    @inlinable
    public init(buffer: UnsafeMutableRawBufferPointer) {
        cursor = buffer.baseAddress!
        end = buffer.baseAddress! + buffer.count
    }

    deinit {
        for block in blocks { free(block) }
    }

    /// Returns uninitialized, suitably aligned memory for `byteCount` bytes.
    @inlinable
    public mutating func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let address = (Int(bitPattern: cursor) &+ alignment &- 1) & ~(alignment &- 1)
        if byteCount <= Int(bitPattern: end) &- address {
            cursor = UnsafeMutableRawPointer(bitPattern: address &+ byteCount)!
            return UnsafeMutableRawPointer(bitPattern: address)!
        }
        return allocateBlock(byteCount: byteCount, alignment: alignment)
    }

    @usableFromInline
    mutating func allocateBlock(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let size = max(byteCount + alignment, 16 * 1024)
        guard let block = malloc(size) else { fatalError("protoqueue: out of memory allocating \(size) bytes") }
        blocks.append(block)
        cursor = block
        end = block + size
        return allocate(byteCount: byteCount, alignment: alignment)
    }

    /// Returns memory for one value of `type`, uninitialized (the caller runs the protoc-c `__init` function).
    @inlinable
    public mutating func allocate<T>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        allocate(byteCount: MemoryLayout<T>.stride, alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: 1)
    }

    /// Returns memory for `count` values of the element type of a C array member (passed for its type only).
    @inlinable
    public mutating func allocate<T>(like member: UnsafeMutablePointer<T>?, count: Int) -> UnsafeMutablePointer<T> {
        allocate(byteCount: MemoryLayout<T>.stride * count, alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: count)
    }

    /// Copies a string as a NUL-terminated C string.
    /// - Throws: `encodingFailed` naming `field` when the string holds U+0000, which protobuf-c cannot carry.
    @inlinable
    public mutating func string(_ value: String, field: StaticString) throws(ProtoqueueError) -> UnsafeMutablePointer<CChar> {
        let copy =
            value.utf8.withContiguousStorageIfAvailable { copyCString($0) }
            ?? Array(value.utf8).withUnsafeBufferPointer { copyCString($0) }
        guard let copy else {
            throw ProtoqueueError(
                .encodingFailed,
                "\(field): the string contains U+0000, which protobuf-c cannot encode (C strings end at NUL)")
        }
        return copy
    }

    /// Copies UTF-8 bytes and a terminating NUL; nil when the bytes contain NUL.
    @inlinable
    mutating func copyCString(_ utf8: UnsafeBufferPointer<UInt8>) -> UnsafeMutablePointer<CChar>? {
        let count = utf8.count
        let memory = allocate(byteCount: count + 1, alignment: 1).bindMemory(to: UInt8.self, capacity: count + 1)
        if count > 0 {
            let source = utf8.baseAddress!
            if memchr(source, 0, count) != nil { return nil }
            memory.update(from: source, count: count)
        }
        memory[count] = 0
        return UnsafeMutableRawPointer(memory).bindMemory(to: CChar.self, capacity: count + 1)
    }

    /// Copies bytes for a `bytes` field.
    @inlinable
    public mutating func bytes(_ value: [UInt8]) -> ProtobufCBinaryData {
        guard !value.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let memory = allocate(byteCount: value.count, alignment: 1)
        value.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return ProtobufCBinaryData(len: value.count, data: memory.bindMemory(to: UInt8.self, capacity: value.count))
    }
}

/// An immutable box that gives a recursive message field (a message that contains itself) a finite size.
/// Generated code only.
@_spi(ProtoqueueGenerated)
public final class ProtoqueueBox<Value: Hashable & Sendable>: Hashable, Sendable {
    /// The boxed message.
    public let value: Value

    /// Boxes a value.
    @inlinable
    public init(_ value: Value) { self.value = value }

    /// Compares the boxed values.
    @inlinable
    public static func == (lhs: ProtoqueueBox, rhs: ProtoqueueBox) -> Bool { lhs.value == rhs.value }

    /// Hashes the boxed value.
    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(value) }
}
