import CProtoDescriptors
import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// protoc-gen-protoqueue: a protoc plugin. Reads a CodeGeneratorRequest on stdin, writes a CodeGeneratorResponse
// on stdout. Parameters (comma separated):
//   c_module=<Name>        the C module holding the protoc-c output the Swift wrappers call (Swift mode)
//   mode=c                 run protoc-gen-c with proto3 `optional` support instead (see CWrapperMode.swift)
//   protoc_gen_c=<path>    the protoc-gen-c executable for mode=c (default: found on PATH)

let requestBytes = PluginIO.readAll(0)
let request = requestBytes.withUnsafeBufferPointer {
    google__protobuf__compiler__code_generator_request__unpack(nil, $0.count, $0.baseAddress)
}
guard let request else {
    PluginIO.warn("protoc-gen-protoqueue: stdin is not a CodeGeneratorRequest (run this program through protoc)")
    exit(1)
}
let parameters = PluginParameters(DescriptorReader.string(request.pointee.parameter))
switch parameters.mode {
case .c:
    let status = CWrapperMode.run(request: request, parameters: parameters)
    google__protobuf__compiler__code_generator_request__free_unpacked(request, nil)
    exit(status)
case .swift:
    let files = DescriptorReader.buffer(request.pointee.proto_file, request.pointee.n_proto_file).map {
        DescriptorReader.file($0!)
    }
    let toGenerate = DescriptorReader.buffer(request.pointee.file_to_generate, request.pointee.n_file_to_generate)
        .map { DescriptorReader.string($0) }
    google__protobuf__compiler__code_generator_request__free_unpacked(request, nil)
    do {
        let generated = try SwiftGenerator(files: files, parameters: parameters).generate(toGenerate)
        PluginIO.respond(files: generated, error: nil, features: CWrapperMode.proto3OptionalFeature)
    } catch {
        PluginIO.respond(files: [], error: error.description, features: CWrapperMode.proto3OptionalFeature)
    }
case .invalid(let message):
    google__protobuf__compiler__code_generator_request__free_unpacked(request, nil)
    PluginIO.respond(files: [], error: message, features: CWrapperMode.proto3OptionalFeature)
}
