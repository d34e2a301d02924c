import KitchenSink
import Testing

/// `print(message)`: the type name and the fields that differ from their defaults, deterministic (map entries in key
/// order), unknown fields summarised. The text comes from a `ProtoqueueMessage` extension; generated code has none.
@Suite("Message descriptions")
struct DescriptionTests {
    @Test func fieldsThatDifferFromTheirDefaultsInSchemaOrder() {
        var value = Everything()
        value.fInt32 = -7
        value.fString = "say \"hi\"\n"
        value.fBytes = [0x0A, 0x1B, 0xFF]
        value.mood = .happy
        value.color = .unrecognized(9)
        value.nested = .init(label: "n", values: [1, 2], deeper: .init(id: 3))
        value.rString = ["a", "b"]
        value.mInt32 = [10: "ten", 9: "nine", -1: "minus one"]
        value.mBool = [true: "yes", false: "no"]
        value.choice = .choiceMood(.grumpy)
        value.oInt32 = 0
        value.unknownFields = .init([
            .init(number: 99, wireType: 0, payload: [1]), .init(number: 100, wireType: 2, payload: [1, 2]),
        ])
        let expected =
            #"Everything(fInt32: -7, fString: "say \"hi\"\n", fBytes: <0a1bff>, mood: .happy, "#
            + #"color: .unrecognized(9), nested: Everything.Nested(label: "n", values: [1, 2], "#
            + #"deeper: Everything.Nested.Deeper(id: 3)), rString: ["a", "b"], "#
            + #"mInt32: [-1: "minus one", 9: "nine", 10: "ten"], mBool: [false: "no", true: "yes"], "#
            + #"choice: .choiceMood(.grumpy), oInt32: 0, unknownFields: <2 fields, 3 bytes>)"#
        #expect(value.description == expected)
        #expect("\(value)" == expected)
        #expect(String(reflecting: value) == expected)
    }

    @Test func recursiveFieldsKeepSchemaOrder() {
        var node = Node(value: 1, children: [Node(value: 2)], named: ["b": Node(), "a": Node(value: 3)])
        node.child = Node(value: 4, link: .leaf("x"))
        node.link = .alt(Node())
        #expect(
            node.description
                == #"Node(value: 1, child: Node(value: 4, link: .leaf("x")), children: [Node(value: 2)], "#
                + #"named: ["a": Node(value: 3), "b": Node()], link: .alt(Node()))"#)
    }

    @Test func defaultsAndKeywords() {
        #expect(Node().description == "Node()")
        #expect(Legacy().description == "Legacy()")
        #expect(Keywords(class: 1, default: 2).description == "Keywords(class: 1, default: 2)")
        #expect(
            ProtoqueueUnknownFields([.init(number: 1, wireType: 0, payload: [1])]).description == "<1 field, 1 byte>")
    }

    @Test func longBytesAreCut() {
        let value = Everything(fBytes: Array(0..<40))
        #expect(
            value.description
                == "Everything(fBytes: <000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                + "… (40 bytes)>)")
    }
}
