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

    /// Proto names and the Swift names they become (properties and enum cases use `member`, types `typeName`).
    static let memberNames: [(proto: String, swift: String)] = [
        ("HTTPHeader", "httpHeader"), ("URL", "url"), ("IOError", "ioError"), ("HTTP2Header", "http2Header"),
        ("ABc", "aBc"), ("RetryCount", "retryCount"), ("fooBar", "fooBar"), ("foo_bar", "fooBar"),
        ("image_url", "imageURL"), ("user_id", "userID"), ("url_path", "urlPath"), ("id", "id"),
        ("PRIORITY_HIGH", "priorityHigh"), ("my_HTTPHeader", "myHTTPHeader"), ("_leading", "leading"),
        ("leading", "leading"), ("init", "init_"), ("init_", "init_"), ("description", "description_"),
        ("class", "class"), ("x2y", "x2y"), ("2fast", "_2fast"),
    ]

    @Test(arguments: memberNames)
    func memberName(_ proto: String, _ swift: String) {
        #expect(SwiftNaming.member(proto) == swift)
    }

    static let typeNames: [(proto: String, swift: String)] = [
        ("email_task", "EmailTask"), ("HTTPHeader", "HTTPHeader"), ("http_header", "HTTPHeader"),
        ("HTTPRequest_v2", "HTTPRequestV2"), ("Type", "Type_"), ("Type_", "Type_"), ("Self", "Self_"),
        ("kind", "Kind"),
    ]

    @Test(arguments: typeNames)
    func typeName(_ proto: String, _ swift: String) {
        #expect(SwiftNaming.typeName(proto) == swift)
    }

    @Test func enumCaseNames() {
        let values = [("PRIORITY_HIGH", 0), ("FOR", 1), ("PRIORITY_FOR", 2), ("PRIORITY_2X", 3), ("HTTPNotFound", 4)]
        let enumeration = ProtoEnum(
            name: "Priority", fullName: "p.Priority",
            values: values.map { ProtoEnumValue(name: $0.0, number: Int32($0.1), comment: nil) }, comment: nil)
        #expect(
            SwiftFileEmitter.caseNames(enumeration).map(\.name) == [
                "high", "for", "for_", "priority2X", "httpNotFound",
            ])
    }

    @Test func bytesDefaultsAreUnescaped() {
        #expect(SwiftFileEmitter.unescapeC("a\\001\\377\\n\\x41") == [0x61, 1, 0xFF, 10, 0x41])
    }
}
