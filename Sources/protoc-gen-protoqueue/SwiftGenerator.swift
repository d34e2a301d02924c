import ProtoqueueCodec
import ProtoqueueSchema

/// Emits one `<path_with_underscores>.protoqueue.swift` per `.proto` file: a `public struct` per message, a
/// Swift enum per protobuf enum and per oneof, and the conversions to and from the protoc-c structs.
struct SwiftGenerator {
    let files: [ProtoFile]
    let parameters: PluginParameters
    let index: SchemaIndex

    init(files: [ProtoFile], parameters: PluginParameters) {
        self.files = files
        self.parameters = parameters
        self.index = SchemaIndex(files: files)
    }

    func generate(_ names: [String]) throws(GeneratorError) -> [(name: String, content: String)] {
        guard let cModule = parameters.cModule, !cModule.isEmpty else {
            throw GeneratorError("missing parameter c_module=<name of the C module holding the protoc-c output>")
        }
        let toGenerate = Set(names)
        let generated = names.compactMap { name in files.first { $0.name == name } }
        for file in generated { try validate(file, toGenerate: toGenerate) }
        if let clash = NameCollisions.cClash(in: generated) ?? NameCollisions.swiftTopLevelClash(in: generated) {
            throw clash
        }
        let schemas: SchemaSet
        do throws(ProtoqueueError) {
            schemas = try SchemaSet(fileDescriptors: files.map(\.descriptorBytes))
        } catch {
            throw GeneratorError("protoc's descriptors do not read back: \(error.message)")
        }
        var output: [(name: String, content: String)] = []
        for file in generated {
            let name = file.name
            let descriptorSet: [UInt8]
            do throws(ProtoqueueError) {
                descriptorSet = try schemas.descriptorSet(forFile: name)
            } catch {
                throw GeneratorError("\(name): \(error.message)")
            }
            var emitter = SwiftFileEmitter(file: file, index: index, cModule: cModule, descriptorSet: descriptorSet)
            for message in file.messages where !message.isMapEntry {
                if let clash = emitter.swiftMemberClash(in: message) { throw clash }
            }
            let stem = name.hasSuffix(".proto") ? String(name.dropLast(6)) : name
            output.append((stem.replacingOccurrences(of: "/", with: "_") + ".protoqueue.swift", emitter.emit()))
        }
        return output
    }

    /// Refuses what protobuf-c or this generator cannot handle, naming the file and the construct.
    func validate(_ file: ProtoFile, toGenerate: Set<String>) throws(GeneratorError) {
        for dependency in file.dependencies where !toGenerate.contains(dependency) {
            if dependency.hasPrefix("google/protobuf/") {
                let types = typesUsed(from: dependency, in: file)
                throw GeneratorError(
                    "\(file.name): imports \(dependency)\(types.isEmpty ? "" : " (\(types.joined(separator: ", ")))"); "
                        + "well-known types are not supported by protoqueue (protobuf-c ships no C for them). "
                        + "Use plain fields instead, for example int64 seconds + int32 nanos for a timestamp.")
            }
            throw GeneratorError(
                "\(file.name): imports \(dependency), which is not part of this target's schema set; "
                    + "add it to the same target (or to protoFiles in protoqueue.json)")
        }
        if file.extensionCount > 0 {
            throw GeneratorError("\(file.name): extensions (`extend`) are not supported by protoqueue")
        }
        func check(_ message: ProtoMessage) throws(GeneratorError) {
            if message.hasExtensions {
                throw GeneratorError(
                    "\(file.name): \(message.fullName) declares extensions, which protoqueue does not support")
            }
            for field in message.fields where field.type == .group {
                throw GeneratorError(
                    "\(file.name): \(message.fullName).\(field.name) is a group; groups are not supported")
            }
            for nested in message.nestedMessages { try check(nested) }
        }
        for message in file.messages { try check(message) }
    }

    /// The full names of the types of `dependency` that `file` refers to.
    func typesUsed(from dependency: String, in file: ProtoFile) -> [String] {
        guard let imported = files.first(where: { $0.name == dependency }) else { return [] }
        var declared: Set<String> = []
        func collect(_ message: ProtoMessage) {
            declared.insert(message.fullName)
            for nested in message.nestedMessages { collect(nested) }
            for enumeration in message.nestedEnums { declared.insert(enumeration.fullName) }
        }
        imported.messages.forEach(collect)
        imported.enums.forEach { declared.insert($0.fullName) }
        var used: [String] = []
        func scan(_ message: ProtoMessage) {
            for field in message.fields where declared.contains(field.typeName) && !used.contains(field.typeName) {
                used.append(field.typeName)
            }
            message.nestedMessages.forEach(scan)
        }
        file.messages.forEach(scan)
        return used
    }
}
