import CProtoDescriptors
import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `mode=c`: runs protoc-gen-c (protobuf-c 1.4.1) with proto3 `optional` support it lacks.
///
/// protoc models a proto3 `optional` field as a field in a one-field "synthetic" oneof named `_<field>` and
/// refuses to send such files to a plugin that does not announce `FEATURE_PROTO3_OPTIONAL`. The wire format of
/// a proto3 `optional` field and of a field in a real one-field oneof is identical, so this mode:
/// 1. announces the feature to protoc,
/// 2. clears `proto3_optional` on every field of the request, which turns each synthetic oneof into a real one
///    (protoc-c then emits a `_<field>_case` member that records presence),
/// 3. runs protoc-gen-c on the rewritten request and passes its response through.
/// The Swift generator reads the untouched descriptors and presents those fields as Swift optionals.
enum CWrapperMode {
    /// `CodeGeneratorResponse.Feature.FEATURE_PROTO3_OPTIONAL`.
    static let proto3OptionalFeature: UInt64 = 1

    static func run(
        request: UnsafeMutablePointer<Google__Protobuf__Compiler__CodeGeneratorRequest>,
        parameters: PluginParameters
    ) -> Int32 {
        guard let executable = parameters.protocGenC ?? findOnPath("protoc-gen-c") else {
            PluginIO.respond(
                files: [],
                error: "protoc-gen-c not found on PATH (install the Debian package protobuf-c-compiler)",
                features: proto3OptionalFeature
            )
            return 0
        }
        for file in DescriptorReader.buffer(request.pointee.proto_file, request.pointee.n_proto_file) {
            for message in DescriptorReader.buffer(file!.pointee.message_type, file!.pointee.n_message_type) {
                if let problem = unsupportedDefault(message!, file: DescriptorReader.string(file!.pointee.name)) {
                    PluginIO.respond(files: [], error: problem, features: proto3OptionalFeature)
                    return 0
                }
                clearProto3Optional(message!)
            }
        }
        let toGenerate = Set(
            DescriptorReader.buffer(request.pointee.file_to_generate, request.pointee.n_file_to_generate)
                .map { DescriptorReader.string($0) })
        let files = DescriptorReader.buffer(request.pointee.proto_file, request.pointee.n_proto_file)
            .map { DescriptorReader.file($0!) }.filter { toGenerate.contains($0.name) }
        if let clash = NameCollisions.cClash(in: files) {
            PluginIO.respond(files: [], error: clash.description, features: proto3OptionalFeature)
            return 0
        }
        free(request.pointee.parameter)
        request.pointee.parameter = nil
        let rewritten = withUnsafePointer(to: &request.pointee.base) { PluginIO.pack($0) }
        switch spawn(executable, input: rewritten) {
        case .success(var output):
            // Field 2 (supported_features, varint) = FEATURE_PROTO3_OPTIONAL; the last occurrence wins.
            output += [0x10, UInt8(proto3OptionalFeature)]
            PluginIO.writeAll(1, output)
            return 0
        case .failure(let error):
            PluginIO.respond(files: [], error: error.description, features: proto3OptionalFeature)
            return 0
        }
    }

    static func clearProto3Optional(_ message: UnsafeMutablePointer<Google__Protobuf__DescriptorProto>) {
        for field in DescriptorReader.buffer(message.pointee.field, message.pointee.n_field) {
            field!.pointee.has_proto3_optional = 0
            field!.pointee.proto3_optional = 0
        }
        for nested in DescriptorReader.buffer(message.pointee.nested_type, message.pointee.n_nested_type) {
            clearProto3Optional(nested!)
        }
    }

    /// protoc-c 1.4.1 writes `inf` and `nan` defaults as bare C identifiers, which do not compile: refuse them
    /// with a message naming the field instead of letting the C compiler fail on generated code.
    static func unsupportedDefault(
        _ message: UnsafeMutablePointer<Google__Protobuf__DescriptorProto>,
        file: String
    ) -> String? {
        for field in DescriptorReader.buffer(message.pointee.field, message.pointee.n_field) {
            let value = DescriptorReader.string(field!.pointee.default_value)
            if ["inf", "-inf", "nan"].contains(value) {
                let name =
                    DescriptorReader.string(message.pointee.name) + "." + DescriptorReader.string(field!.pointee.name)
                return
                    "\(file): \(name) has [default = \(value)], which protoc-c 1.4.1 cannot compile; use a finite "
                    + "default"
            }
        }
        for nested in DescriptorReader.buffer(message.pointee.nested_type, message.pointee.n_nested_type) {
            if let problem = unsupportedDefault(nested!, file: file) { return problem }
        }
        return nil
    }

    static func findOnPath(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs `executable` with `input` on stdin (through a temporary file) and returns its stdout.
    static func spawn(_ executable: String, input: [UInt8]) -> Result<[UInt8], GeneratorError> {
        func temporaryFile() -> Int32 {
            var template = Array("/tmp/protoqueue-c-XXXXXX".utf8CString)
            let fd = mkstemp(&template)
            if fd >= 0 { unlink(&template) }
            return fd
        }
        let inputFD = temporaryFile()
        let outputFD = temporaryFile()
        defer {
            close(inputFD)
            close(outputFD)
        }
        guard inputFD >= 0, outputFD >= 0 else {
            return .failure(GeneratorError("cannot create a temporary file: \(String(cString: strerror(errno)))"))
        }
        PluginIO.writeAll(inputFD, input)
        lseek(inputFD, 0, SEEK_SET)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputFD, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
        var pid = pid_t()
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(executable), nil]
        defer { free(argv[0]) }
        let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard status == 0 else {
            return .failure(GeneratorError("cannot run \(executable): \(String(cString: strerror(status)))"))
        }
        var exitStatus: Int32 = 0
        while waitpid(pid, &exitStatus, 0) < 0 && errno == EINTR {}
        guard exitStatus == 0 else {
            return .failure(GeneratorError("\(executable) failed (wait status \(exitStatus))"))
        }
        lseek(outputFD, 0, SEEK_SET)
        return .success(PluginIO.readAll(outputFD))
    }
}
