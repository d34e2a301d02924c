import Foundation
import KitchenSink
import ProtoqueueCodec
@_spi(ProtoqueueGenerated) import ProtoqueueCodec
import SchemaTestSupport
import TaskSchemas
import Testing

@testable import ProtoqueueSchema

@Suite("Schema sets and fingerprints")
struct SchemaSetTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("SHA-256 matches the FIPS 180-4 test vectors")
    func sha256() {
        func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(SHA256.digest([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            hex(SHA256.digest(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            hex(SHA256.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            hex(SHA256.digest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("base64 round-trips every length and refuses what is not base64")
    func base64() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = ProtoqueueBase64.encode(bytes)
            #expect(text.count % 4 == 0)
            #expect(ProtoqueueBase64.decode(text) == bytes)
            #expect(ProtoqueueBase64.decode(text.replacingOccurrences(of: "=", with: "")) == bytes)
        }
        #expect(ProtoqueueBase64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(ProtoqueueBase64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(ProtoqueueBase64.decode("Zm9v!") == nil)
        #expect(ProtoqueueBase64.decode("Z") == nil)
        #expect(ProtoqueueBase64.decode("Zm=8") == nil)
    }

    @Test("a generated type carries its file and imports, and protoc's set gives the same fingerprint")
    func generated() throws {
        let embedded = try SchemaSet(descriptorSet: EmailTask.protoFileDescriptorSet)
        #expect(
            embedded.files.map(\.name) == ["protoqueue/examples/common.proto", "protoqueue/examples/email_task.proto"])
        let email = try #require(embedded.message(EmailTask.protoMessageName))
        #expect(email.fields.first?.declaration == "string to = 1")
        let root = Self.repository.appendingPathComponent("Protos")
        var schemas: [String: String] = [:]
        for file in [
            "protoqueue/examples/common.proto", "protoqueue/examples/email_task.proto",
            "protoqueue/examples/image_resize_task.proto", "protoqueue/examples/pipeline_record.proto",
        ] {
            schemas[file] = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
        }
        // protoc's set holds every example file; the fingerprint covers only what EmailTask needs.
        let compiled = try SchemaSet(descriptorSet: Protoc.descriptorSet(schemas))
        #expect(compiled.files.count == 4)
        #expect(
            try compiled.fingerprint(of: EmailTask.protoMessageName)
                == embedded.fingerprint(of: EmailTask.protoMessageName))
        #expect(
            try compiled.fingerprint(of: EmailTask.protoMessageName)
                != compiled.fingerprint(of: ImageResizeTask.protoMessageName))
    }

    @Test("the kitchen sink's descriptors read back with every kind of field")
    func kitchenSink() throws {
        let set = try SchemaSet(descriptorSet: Everything.protoFileDescriptorSet)
        let everything = try #require(set.message(Everything.protoMessageName))
        #expect(everything.fields.count > 30)
        #expect(everything.fields.contains { $0.label == .repeated && $0.type == .message })
        #expect(everything.fields.contains { $0.oneof != nil })
        #expect(everything.fields.contains { $0.isProto3Optional })
        #expect(set.messages.values.contains { $0.isMapEntry })
        #expect(everything.fields.allSatisfy { !$0.jsonName.isEmpty })
    }

    @Test("hostile bytes never crash the reader")
    func hostile() throws {
        let valid = Everything.protoFileDescriptorSet
        var generator = SystemRandomNumberGenerator()
        var refused = 0
        for _ in 0..<3000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if Bool.random(using: &generator) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &generator)) }
            do {
                _ = try SchemaSet(descriptorSet: bytes)
            } catch {
                #expect(error.code == .invalidSchema)
                refused += 1
            }
        }
        #expect(refused > 0)
    }
}
