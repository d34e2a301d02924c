import Testing

@testable import protoc_gen_protoqueue

/// The generator's naming rules against names measured in protoc-c 1.4.1 output (see CNaming.swift).
@Suite("Generator naming rules")
struct NamingTests {
    @Test func cNamesMirrorProtocC() {
        #expect(CNaming.typeName("my_pkg.sub2.HTTPRequest_v2.Inner_msg") == "MyPkg__Sub2__HTTPRequestV2__InnerMsg")
        #expect(
            CNaming.functionPrefix("my_pkg.sub2.HTTPRequest_v2.Inner_msg") == "my_pkg__sub2__httprequest_v2__inner_msg")
        #expect(CNaming.functionPrefix("my_pkg.sub2.XMLHttp2Thing") == "my_pkg__sub2__xmlhttp2_thing")
        #expect(
            CNaming.functionPrefix("my_pkg.sub2.HTTPRequest_v2.color_Kind")
                == "my_pkg__sub2__httprequest_v2__color__kind")
        #expect(CNaming.memberName("fooBar") == "foobar")
        #expect(CNaming.memberName("class") == "class_")
        #expect(CNaming.memberName("restrict") == "restrict")
        #expect(CNaming.memberName("_Bool") == "_bool")
        #expect(CNaming.oneofCaseMember("my_Choice") == "my__choice_case")
        #expect(CNaming.oneofCaseMember("_not_before_unix") == "_not_before_unix_case")
    }

    @Test func swiftNames() {
        #expect(SwiftNaming.typeName("email_task") == "EmailTask")
        #expect(SwiftNaming.typeName("HTTPRequest_v2") == "HTTPRequestV2")
        #expect(SwiftNaming.typeName("Type") == "Type_")
        #expect(SwiftNaming.member("template_id") == "templateID")
        #expect(SwiftNaming.member("image_url") == "imageURL")
        #expect(SwiftNaming.member("PRIORITY_HIGH") == "priorityHigh")
        #expect(SwiftNaming.member("fooBar") == "fooBar")
        #expect(SwiftNaming.member("unknown_fields") == "unknownFields_")
        #expect(SwiftNaming.member("init") == "init_")
        #expect(SwiftNaming.escaped(SwiftNaming.member("class")) == "`class`")
        #expect(SwiftNaming.stringLiteral("a\"b\\\n\u{1}") == #""a\"b\\\n\u{1}""#)
    }

    @Test func bytesDefaultsAreUnescaped() {
        #expect(SwiftFileEmitter.unescapeC("a\\001\\377\\n\\x41") == [0x61, 1, 0xFF, 10, 0x41])
    }
}
