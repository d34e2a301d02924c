public import CProtobufC

#if canImport(Glibc)
public import Glibc
#elseif canImport(Darwin)
public import Darwin
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
    /// The newest `malloc`ed block; each block starts with the address of the one before it.
    @usableFromInline var blocks: UnsafeMutableRawPointer?

    /// Creates an arena that allocates from `buffer` first.
    @inlinable
    public init(buffer: UnsafeMutableRawBufferPointer) {
        cursor = buffer.baseAddress!
        end = buffer.baseAddress! + buffer.count
        blocks = nil
    }

    deinit {
        var next = blocks
        while let block = next {
            next = block.load(as: UnsafeMutableRawPointer?.self)
            free(block)
        }
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
        let header = MemoryLayout<UnsafeMutableRawPointer?>.stride
        let size = max(header + byteCount + alignment, 16 * 1024)
        guard let block = malloc(size) else { fatalError("protoqueue: out of memory allocating \(size) bytes") }
        block.storeBytes(of: blocks, as: UnsafeMutableRawPointer?.self)
        blocks = block
        cursor = block + header
        end = block + size
        return allocate(byteCount: byteCount, alignment: alignment)
    }

    /// Returns `byteCount` bytes from the current block when they fit there, without opening a new block.
    @inlinable
    mutating func allocateInCurrentBlock(byteCount: Int) -> UnsafeMutablePointer<UInt8>? {
        guard byteCount <= end - cursor else { return nil }
        let memory = cursor.bindMemory(to: UInt8.self, capacity: byteCount)
        cursor += byteCount
        return memory
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
    /// Always inlined: called out of line, the generated code retains and releases the string around the call.
    @inlinable @inline(__always)
    public mutating func string(
        _ value: String, field: StaticString
    ) throws(ProtoqueueError) -> UnsafeMutablePointer<CChar> {
        let count = value.utf8.count
        let memory = allocate(byteCount: count + 1, alignment: 1).bindMemory(to: UInt8.self, capacity: count + 1)
        let copied: Bool
        if #available(macOS 26, iOS 26, tvOS 26, watchOS 26, visionOS 26, *) {
            // A span borrows the string's storage; `withContiguousStorageIfAvailable` retains and releases it
            // (two atomic operations per heap-allocated string).
            copied = value.utf8.span.withUnsafeBufferPointer { Self.copyCString($0, to: memory) }
        } else {
            copied =
                value.utf8.withContiguousStorageIfAvailable { Self.copyCString($0, to: memory) }
                ?? Array(value.utf8).withUnsafeBufferPointer { Self.copyCString($0, to: memory) }
        }
        guard copied else { throw Self.nulInString(field) }
        return UnsafeMutableRawPointer(memory).bindMemory(to: CChar.self, capacity: count + 1)
    }

    /// The error for a string holding U+0000, out of line so that ``string(_:field:)`` stays small.
    @usableFromInline
    static func nulInString(_ field: StaticString) -> ProtoqueueError {
        ProtoqueueError(
            .encodingFailed,
            "\(field): the string contains U+0000, which protobuf-c cannot encode (C strings end at NUL)")
    }

    /// Copies UTF-8 bytes and a terminating NUL to `memory` (`utf8.count + 1` bytes); false when the bytes
    /// contain NUL.
    @inlinable
    static func copyCString(_ utf8: UnsafeBufferPointer<UInt8>, to memory: UnsafeMutablePointer<UInt8>) -> Bool {
        let count = utf8.count
        if count > 0 {
            let source = utf8.baseAddress!
            if memchr(source, 0, count) != nil { return false }
            memory.update(from: source, count: count)
        }
        memory[count] = 0
        return true
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
