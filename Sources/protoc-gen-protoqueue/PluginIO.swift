import CProtoDescriptors
import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading the `CodeGeneratorRequest` protoc writes to stdin and writing the `CodeGeneratorResponse` to stdout.
enum PluginIO {
    /// Reads a file descriptor to its end.
    static func readAll(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes.append(contentsOf: chunk[0..<n])
            } else if n == 0 || errno != EINTR {
                return bytes
            }
        }
    }

    /// Writes all bytes to a file descriptor.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                } else if errno != EINTR {
                    return
                }
            }
        }
    }

    /// Writes a line to stderr, which protoc shows to the user.
    static func warn(_ text: String) {
        writeAll(2, Array((text + "\n").utf8))
    }

    /// Packs a protobuf-c message into bytes.
    static func pack(_ message: UnsafePointer<ProtobufCMessage>) -> [UInt8] {
        let size = protobuf_c_message_get_packed_size(message)
        return [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buffer, count in
            count = protobuf_c_message_pack(message, buffer.baseAddress)
        }
    }

    /// Writes a response holding either generated files or an error protoc reports as `--x_out: <error>`.
    static func respond(files: [(name: String, content: String)], error: String?, features: UInt64) {
        var response = Google__Protobuf__Compiler__CodeGeneratorResponse()
        google__protobuf__compiler__code_generator_response__init(&response)
        response.has_supported_features = 1
        response.supported_features = features
        var owned: [UnsafeMutablePointer<CChar>] = []
        func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
            let copy = strdup(text)!
            owned.append(copy)
            return copy
        }
        if let error { response.error = cString(error) }
        let entries = UnsafeMutablePointer<Google__Protobuf__Compiler__CodeGeneratorResponse__File>.allocate(
            capacity: max(files.count, 1))
        let pointers = UnsafeMutablePointer<
            UnsafeMutablePointer<Google__Protobuf__Compiler__CodeGeneratorResponse__File>?
        >
        .allocate(capacity: max(files.count, 1))
        for (index, file) in files.enumerated() {
            google__protobuf__compiler__code_generator_response__file__init(entries + index)
            entries[index].name = cString(file.name)
            entries[index].content = cString(file.content)
            pointers[index] = entries + index
        }
        response.n_file = files.count
        response.file = pointers
        let bytes = withUnsafePointer(to: &response.base) { pack($0) }
        writeAll(1, bytes)
        for pointer in owned { free(pointer) }
        entries.deallocate()
        pointers.deallocate()
    }
}
