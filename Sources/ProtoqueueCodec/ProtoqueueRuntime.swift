public import CProtobufC
public import Synchronization

#if canImport(Glibc)
public import Glibc
#elseif canImport(Darwin)
public import Darwin
#endif

/// The helpers generated messages call to pack and unpack through protobuf-c. Generated code only: the
/// signatures follow protoc-c's C structs and may change with the generator.
@_spi(ProtoqueueGenerated)
public enum ProtoqueueRuntime {
    /// The size of the stack buffers encode and decode start their arenas with. 1 KiB is the largest
    /// `withUnsafeTemporaryAllocation` is guaranteed to place on the stack: above it, it asks the runtime, which
    /// on Linux answers with a heap allocation on every call. Larger messages spill into `malloc`ed blocks.
    @inlinable
    static var stackArenaSize: Int { 1024 }

    /// Encodes a message: builds its C struct in an arena (``ProtoqueueArena``) and packs it with protobuf-c.
    /// - Parameters:
    ///   - type: The protoc-c struct of the message.
    ///   - initialize: The protoc-c `__init` function of the message.
    ///   - fill: Sets the C struct's fields from the Swift value.
    @inlinable
    public static func encode<C>(
        _ type: C.Type,
        initialize: (UnsafeMutablePointer<C>) -> Void,
        _ fill: (UnsafeMutablePointer<C>, inout ProtoqueueArena) throws(ProtoqueueError) -> Void
    ) throws(ProtoqueueError) -> [UInt8] {
        // The closure does not throw: a throwing one makes withUnsafeTemporaryAllocation route its result
        // through a `Result`, which costs a copy of it.
        var bytes: [UInt8] = []
        var failure: ProtoqueueError?
        withUnsafeTemporaryAllocation(byteCount: stackArenaSize, alignment: 16) { buffer in
            var arena = ProtoqueueArena(buffer: buffer)
            let message = arena.allocate(C.self)
            initialize(message)
            do throws(ProtoqueueError) {
                try fill(message, &arena)
            } catch {
                failure = error
                return
            }
            bytes = pack(UnsafeRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self), in: &arena)
        }
        if let failure { throw failure }
        return bytes
    }

    /// Packs a protobuf-c message into a new array. A message that fits in what is left of the arena's current
    /// block is packed there and copied: the copy costs less than `Array(unsafeUninitializedCapacity:)`, which
    /// goes through an unspecialized standard-library entry point that looks up the array's type metadata.
    @inlinable
    static func pack(_ message: UnsafePointer<ProtobufCMessage>, in arena: inout ProtoqueueArena) -> [UInt8] {
        let size = protobuf_c_message_get_packed_size(message)
        guard size > 0 else { return [] }
        if let scratch = arena.allocateInCurrentBlock(byteCount: size) {
            let count = protobuf_c_message_pack(message, scratch)
            return Array(UnsafeBufferPointer(start: scratch, count: count))
        }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = protobuf_c_message_pack(message, buffer.baseAddress)
        }
    }

    /// Decodes a message: checks nesting depth when the schema is recursive, unpacks with protobuf-c into an
    /// arena (a stack buffer, then `malloc`ed blocks; one release instead of `free_unpacked`), and reads the C
    /// struct into the Swift value.
    /// - Parameters:
    ///   - bytes: The encoded message.
    ///   - descriptor: The protobuf-c descriptor of the message.
    ///   - messageName: The full protobuf name, for error messages.
    ///   - checkDepth: Whether the schema is recursive (its nesting is unbounded). Then the structural pass
    ///     (``ProtoqueueWireCheck``: nesting depth and the checks protobuf-c lacks) runs before protobuf-c unpacks.
    ///     For other schemas it runs only when protobuf-c refused the bytes or read a field number 0.
    ///   - type: The protoc-c struct of the message.
    ///   - message: The Swift value to read into, passed through to `read`.
    ///   - read: Sets the Swift value's fields from the unpacked C struct, in place. (A message built by value,
    ///     or captured by the closure, is copied on its way out: a retain and a release per field.)
    @inlinable
    public static func decode<C, Message>(
        _ bytes: [UInt8],
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        messageName: String,
        checkDepth: Bool,
        as type: C.Type,
        into message: inout Message,
        _ read: (inout Message, UnsafePointer<C>) -> Void
    ) throws(ProtoqueueError) {
        // Recursive schemas: nesting depth is checked before protobuf-c (which has no limit) recurses.
        if checkDepth {
            guard ProtoqueueWireCheck.isWellFormed(bytes, descriptor: descriptor) else {
                throw ProtoqueueWireCheck.diagnose(bytes, descriptor: descriptor, messageName: messageName)
            }
        }
        let zeroFieldNumbersBefore = zeroFieldNumbersSeen.load(ordering: .relaxed)
        var unpacked = false
        withUnsafeTemporaryAllocation(byteCount: stackArenaSize, alignment: 16) { buffer in
            var arena = UnpackArena(cursor: buffer.baseAddress!, end: buffer.baseAddress! + buffer.count, blocks: nil)
            withUnsafeMutablePointer(to: &arena) { state in
                defer { UnpackArena.releaseBlocks(state) }
                var allocator = ProtobufCAllocator(
                    alloc: { data, size in UnpackArena.allocate(data!, size) },
                    free: { _, _ in },
                    allocator_data: UnsafeMutableRawPointer(state)
                )
                let c = bytes.withUnsafeBufferPointer {
                    protobuf_c_message_unpack(descriptor, &allocator, $0.count, $0.baseAddress)
                }
                if let c {
                    read(&message, UnsafeRawPointer(c).assumingMemoryBound(to: C.self))
                    unpacked = true
                }
            }
        }
        guard unpacked else {
            throw ProtoqueueWireCheck.diagnose(bytes, descriptor: descriptor, messageName: messageName)
        }
        // The one malformation protobuf-c 1.4.1 accepts: a field number 0 written as an overlong varint (`80 00`),
        // kept as an unknown field and re-encoded as the invalid tag byte `00`. Reading unknown fields counts
        // such fields; if any were seen during this decode (here or, rarely, on another thread), the structural
        // pass decides. Running that pass on every decode cost an eighth of the decode time.
        if !checkDepth, zeroFieldNumbersSeen.load(ordering: .relaxed) != zeroFieldNumbersBefore,
            !ProtoqueueWireCheck.isWellFormed(bytes, descriptor: descriptor)
        {
            throw ProtoqueueWireCheck.diagnose(bytes, descriptor: descriptor, messageName: messageName)
        }
    }

    /// How many unknown fields with field number 0 were read, process-wide (see
    /// ``decode(_:descriptor:messageName:checkDepth:as:into:_:)``).
    @usableFromInline
    static let zeroFieldNumbersSeen = Atomic<UInt>(0)

    /// The address of a message's protobuf-c descriptor, read from a struct its `__init` function filled
    /// (Swift cannot take the address of the imported `const` descriptor global).
    public static func descriptor<C>(
        of type: C.Type,
        initialize: (UnsafeMutablePointer<C>) -> Void
    ) -> UnsafePointer<ProtobufCMessageDescriptor> {
        let message = UnsafeMutablePointer<C>.allocate(capacity: 1)
        defer { message.deallocate() }
        initialize(message)
        return UnsafeRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self).pointee.descriptor
    }

    /// A C string as a Swift string (`""` for NULL). Invalid UTF-8 is repaired with U+FFFD.
    @inlinable
    public static func string(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
    }

    /// The contents of a `bytes` field.
    @inlinable
    public static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let pointer = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: data.len))
    }

    /// The wire value of a protoc-c enum.
    @inlinable
    public static func enumValue<E: RawRepresentable>(_ value: E) -> Int32 where E.RawValue: FixedWidthInteger {
        Int32(truncatingIfNeeded: value.rawValue)
    }

    /// A protoc-c enum from a wire value (declared or not: protobuf-c keeps unknown values as they are).
    @inlinable
    public static func cEnum<E: RawRepresentable>(_ value: Int32) -> E where E.RawValue: FixedWidthInteger {
        E(rawValue: E.RawValue(truncatingIfNeeded: value))!
    }

    /// A C array as a buffer (empty for NULL).
    @inlinable
    public static func buffer<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: Int) -> UnsafeBufferPointer<T> {
        UnsafeBufferPointer(start: count > 0 ? pointer : nil, count: count > 0 ? count : 0)
    }

    /// Converts a C array.
    @inlinable
    public static func array<T, Element>(
        _ pointer: UnsafeMutablePointer<T>?,
        _ count: Int,
        _ convert: (T) -> Element
    ) -> [Element] {
        buffer(pointer, count).map(convert)
    }

    /// Sorts the C entries of a map field in place by key, so equal maps encode to equal bytes. Keys are unique
    /// (they come from a Swift dictionary); small maps, the usual case, take an insertion sort that costs less
    /// than setting up the standard library's sort.
    @inlinable
    public static func sortMapEntries<Entry>(
        _ entries: UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>,
        count: Int,
        by precedes: (UnsafeMutablePointer<Entry>, UnsafeMutablePointer<Entry>) -> Bool
    ) {
        guard count > 1 else { return }
        guard count <= 16 else {
            var buffer = UnsafeMutableBufferPointer(start: entries, count: count)
            buffer.sort { precedes($0!, $1!) }
            return
        }
        for sorted in 1..<count {
            let entry = entries[sorted]!
            var position = sorted
            while position > 0, precedes(entry, entries[position - 1]!) {
                entries[position] = entries[position - 1]
                position -= 1
            }
            entries[position] = entry
        }
    }

    /// Key order of integer and bool (`protobuf_c_boolean`, false first) map keys.
    @inlinable
    public static func mapKeyPrecedes<Key: Comparable>(_ lhs: Key, _ rhs: Key) -> Bool {
        lhs < rhs
    }

    /// Key order of string map keys: byte order of their UTF-8.
    @inlinable
    public static func mapKeyPrecedes(_ lhs: UnsafeMutablePointer<CChar>?, _ rhs: UnsafeMutablePointer<CChar>?) -> Bool
    {
        strcmp(lhs!, rhs!) < 0
    }

    /// Whether a string member still points at its field's default value (a proto2 string that was not set).
    public static func isDefault(
        _ value: UnsafePointer<CChar>,
        field number: UInt32,
        of descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    ) -> Bool {
        guard let field = protobuf_c_message_descriptor_get_field(descriptor, number) else { return false }
        return UnsafeRawPointer(value) == field.pointee.default_value
    }

    /// The unknown fields protobuf-c kept while unpacking a message.
    @inlinable
    public static func unknownFields<C>(of message: UnsafePointer<C>) -> ProtoqueueUnknownFields {
        let base = UnsafeRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self)
        guard base.pointee.n_unknown_fields > 0 else { return ProtoqueueUnknownFields() }
        return readUnknownFields(base.pointee)
    }

    @usableFromInline
    static func readUnknownFields(_ base: ProtobufCMessage) -> ProtoqueueUnknownFields {
        countZeroFieldNumbers(base)
        var fields: [ProtoqueueUnknownFields.Field] = []
        fields.reserveCapacity(Int(base.n_unknown_fields))
        for field in UnsafeBufferPointer(start: base.unknown_fields, count: Int(base.n_unknown_fields)) {
            var payload = Array(UnsafeBufferPointer(start: field.data, count: field.len))
            let wireType = UInt8(truncatingIfNeeded: field.wire_type.rawValue)
            if wireType == 2 {
                // protobuf-c keeps the length prefix in `data`; the public value holds the contents only.
                var prefix = 0
                while prefix < payload.count && payload[prefix] & 0x80 != 0 { prefix += 1 }
                payload.removeFirst(min(prefix + 1, payload.count))
            }
            fields.append(.init(number: field.tag, wireType: wireType, payload: payload))
        }
        return ProtoqueueUnknownFields(fields)
    }

    /// The entries of a map field. Their unknown fields are not kept, but one with field number 0 still makes the
    /// message malformed, so they are counted like those of other messages.
    @inlinable
    public static func mapEntries<Entry>(
        _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>?, _ count: Int
    ) -> UnsafeBufferPointer<UnsafeMutablePointer<Entry>?> {
        let entries = buffer(pointer, count)
        for case let entry? in entries {
            let base = UnsafeRawPointer(entry).assumingMemoryBound(to: ProtobufCMessage.self)
            if base.pointee.n_unknown_fields > 0 { countZeroFieldNumbers(base.pointee) }
        }
        return entries
    }

    @usableFromInline
    static func countZeroFieldNumbers(_ base: ProtobufCMessage) {
        for field in UnsafeBufferPointer(start: base.unknown_fields, count: Int(base.n_unknown_fields))
        where field.tag == 0 {
            zeroFieldNumbersSeen.add(1, ordering: .relaxed)
        }
    }

    /// Hands unknown fields to protobuf-c, which writes them after the known fields.
    @inlinable
    public static func setUnknownFields<C>(
        _ unknown: ProtoqueueUnknownFields,
        of message: UnsafeMutablePointer<C>,
        in arena: inout ProtoqueueArena
    ) {
        guard !unknown.isEmpty else { return }
        writeUnknownFields(
            unknown, to: UnsafeMutableRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self), in: &arena)
    }

    @usableFromInline
    static func writeUnknownFields(
        _ unknown: ProtoqueueUnknownFields,
        to base: UnsafeMutablePointer<ProtobufCMessage>,
        in arena: inout ProtoqueueArena
    ) {
        let fields = arena.allocate(like: base.pointee.unknown_fields, count: unknown.fields.count)
        for (position, field) in unknown.fields.enumerated() {
            var data = field.payload
            if field.wireType == 2 {
                var length = UInt64(data.count)
                var prefix: [UInt8] = []
                repeat {
                    prefix.append(UInt8(length & 0x7F) | (length > 0x7F ? 0x80 : 0))
                    length >>= 7
                } while length > 0
                data = prefix + data
            }
            let copy = arena.bytes(data)
            fields[position] = ProtobufCMessageUnknownField(
                tag: field.number,
                wire_type: ProtobufCWireType(rawValue: .init(field.wireType)),
                len: copy.len,
                data: copy.data
            )
        }
        base.pointee.n_unknown_fields = UInt32(unknown.fields.count)
        base.pointee.unknown_fields = fields
    }
}

/// The allocator protobuf-c unpacks with: bump allocation from a stack buffer, then from `malloc`ed blocks
/// chained through their first word; everything is released at once after conversion.
@usableFromInline
struct UnpackArena {
    @usableFromInline var cursor: UnsafeMutableRawPointer
    @usableFromInline var end: UnsafeMutableRawPointer
    @usableFromInline var blocks: UnsafeMutableRawPointer?

    @inlinable
    init(cursor: UnsafeMutableRawPointer, end: UnsafeMutableRawPointer, blocks: UnsafeMutableRawPointer?) {
        self.cursor = cursor
        self.end = end
        self.blocks = blocks
    }

    @inlinable
    static func allocate(_ data: UnsafeMutableRawPointer, _ size: Int) -> UnsafeMutableRawPointer? {
        let state = data.assumingMemoryBound(to: UnpackArena.self)
        let address = (Int(bitPattern: state.pointee.cursor) &+ 15) & ~15
        if size <= Int(bitPattern: state.pointee.end) &- address {
            state.pointee.cursor = UnsafeMutableRawPointer(bitPattern: address &+ size)!
            return UnsafeMutableRawPointer(bitPattern: address)
        }
        return allocateBlock(state, size)
    }

    @usableFromInline
    static func allocateBlock(_ state: UnsafeMutablePointer<UnpackArena>, _ size: Int) -> UnsafeMutableRawPointer? {
        let header = 16
        let blockSize = max(size + header, 16 * 1024)
        guard let block = malloc(blockSize) else { return nil }
        block.storeBytes(of: state.pointee.blocks, as: UnsafeMutableRawPointer?.self)
        state.pointee.blocks = block
        state.pointee.cursor = block + header + size
        state.pointee.end = block + blockSize
        return block + header
    }

    @usableFromInline
    static func releaseBlocks(_ state: UnsafeMutablePointer<UnpackArena>) {
        var next = state.pointee.blocks
        while let block = next {
            next = block.load(as: UnsafeMutableRawPointer?.self)
            free(block)
        }
        state.pointee.blocks = nil
    }
}
