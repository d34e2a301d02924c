/// protoc-c 1.4.1's C names, mirrored exactly so the generated Swift compiles against the generated C.
///
/// Measured against protoc-c output: package `my_pkg.sub2`, message `HTTPRequest_v2`, nested `Inner_msg`
/// → type `MyPkg__Sub2__HTTPRequestV2__InnerMsg`, functions `my_pkg__sub2__httprequest_v2__inner_msg__init`;
/// field `fooBar` → member `foobar`; field `class` → `class_`; oneof `my_Choice` → `my__choice_case`.
enum CNaming {
    /// C++ keywords protoc-c suffixes with `_` in member names (`class` → `class_`; `restrict`, `export`
    /// and `_Bool` are not in its list).
    static let keywords: Set<String> = [
        "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch", "char", "class",
        "compl", "const", "const_cast", "continue", "default", "delete", "do", "double", "dynamic_cast", "else",
        "enum", "explicit", "extern", "false", "float", "for", "friend", "goto", "if", "inline", "int", "long",
        "mutable", "namespace", "new", "not", "not_eq", "operator", "or", "or_eq", "private", "protected",
        "public", "register", "reinterpret_cast", "return", "short", "signed", "sizeof", "static",
        "static_cast", "struct", "switch", "template", "this", "throw", "true", "try", "typedef", "typeid",
        "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while", "xor",
        "xor_eq",
    ]

    static func isUpper(_ c: Character) -> Bool { c.isASCII && c.isUppercase }

    /// `foo_bar` → `FooBar`: drop underscores, upper-case the first letter and each letter after one.
    static func toCamel(_ name: String) -> String {
        var result = ""
        var nextIsUpper = true
        for c in name {
            if c == "_" {
                nextIsUpper = true
            } else if nextIsUpper {
                result += c.uppercased()
                nextIsUpper = false
            } else {
                result.append(c)
            }
        }
        return result
    }

    /// `XMLHttp2Thing` → `xmlhttp2_thing`: lower-case, `_` before an upper-case letter that follows a
    /// non-upper-case character.
    static func camelToLower(_ name: String) -> String {
        var result = ""
        var wasUpper = true
        for c in name {
            if isUpper(c) {
                if !wasUpper { result += "_" }
                result += c.lowercased()
                wasUpper = true
            } else {
                result.append(c)
                wasUpper = false
            }
        }
        return result
    }

    /// The C type of a message: `pkg.Outer.Inner` → `Pkg__Outer__Inner`.
    static func typeName(_ fullName: String) -> String {
        fullName.split(separator: ".").map { toCamel(String($0)) }.joined(separator: "__")
    }

    /// The prefix of a message's C functions: `pkg.Outer.Inner` → `pkg__outer__inner`.
    static func functionPrefix(_ fullName: String) -> String {
        fullName.split(separator: ".").map { camelToLower(String($0)) }.joined(separator: "__")
    }

    /// A field's member in the C struct: lower-cased, C++ keywords suffixed with `_`.
    static func memberName(_ fieldName: String) -> String {
        let lower = fieldName.lowercased()
        return keywords.contains(lower) ? lower + "_" : lower
    }

    /// The member holding a oneof's case: `my_Choice` → `my__choice_case`.
    static func oneofCaseMember(_ oneofName: String) -> String {
        camelToLower(oneofName) + "_case"
    }
}
