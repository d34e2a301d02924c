/// Swift names for protobuf names: types in UpperCamelCase, properties and cases in lowerCamelCase, with
/// Swift keywords escaped and names that clash with the generated API renamed (trailing `_`).
enum SwiftNaming {
    /// Words that need backticks when used as identifiers.
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows",
        "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default",
        "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch",
        "where", "while", "as", "false", "is", "nil", "super", "throws", "true", "try", "async", "await",
        "actor", "any", "some", "consume", "borrowing", "consuming", "each", "macro", "package", "nonisolated",
        "isolated", "indirect", "mutating", "nonmutating", "lazy", "weak", "unowned", "optional", "required",
        "convenience", "dynamic", "final", "override", "get", "set", "willSet", "didSet", "_",
    ]

    /// Member names the generated code itself uses (or Swift reserves) on every message and enum.
    static let reservedMembers: Set<String> = [
        "unknownFields", "serializedBytes", "protoMessageName", "init", "hashValue", "hash", "self", "Self",
        "Type", "Protocol", "Any", "rawValue", "allCases", "unrecognized", "description", "debugDescription",
    ]

    /// Type names Swift reserves inside a type (`Outer.Type` is the metatype).
    static let reservedTypes: Set<String> = ["Type", "Protocol", "Self", "Any", "Sendable", "Equatable", "Hashable"]

    /// Words written in capitals inside a camel-case name (`image_url` → `imageURL`, `user_id` → `userID`).
    static let acronyms: Set<String> = [
        "id", "url", "uri", "http", "https", "json", "html", "xml", "uuid", "api", "ip", "tcp", "udp", "sql", "dns",
        "tls", "ttl", "utf8",
    ]

    static func words(_ name: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previous: Character?
        for c in name {
            if c == "_" {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else if let p = previous, c.isUppercase, p.isLowercase || p.isNumber, !current.isEmpty {
                words.append(current)
                current = String(c)
            } else {
                current.append(c)
            }
            previous = c
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// `email_task` → `EmailTask`; an existing camel-case name keeps its capitals.
    static func upperCamel(_ name: String) -> String {
        let result = words(name).map { word in
            acronyms.contains(word.lowercased()) && word == word.lowercased()
                ? word.uppercased() : word.prefix(1).uppercased() + word.dropFirst()
        }.joined()
        if result.isEmpty || result.first!.isNumber { return "_" + result }
        return result
    }

    /// `image_url` → `imageURL`, `RetryCount` → `retryCount`, `PRIORITY_HIGH` → `priorityHigh`,
    /// `HTTPHeader` → `httpHeader`.
    static func lowerCamel(_ name: String) -> String {
        let parts = words(name)
        var result = ""
        for (index, word) in parts.enumerated() {
            let lower = word.lowercased()
            let isShouting = word == word.uppercased()
            if index == 0 {
                result += lowerLeadingCapitals(word)
            } else if acronyms.contains(lower) {
                result += lower.uppercased()
            } else {
                result +=
                    word.prefix(1).uppercased() + (isShouting ? String(lower.dropFirst()) : String(word.dropFirst()))
            }
        }
        if result.isEmpty || result.first!.isNumber { return "_" + result }
        return result
    }

    /// Lowers the leading run of capitals of a name's first word, except its last letter when a lowercase letter
    /// follows (that capital starts the next word): `HTTPHeader` → `httpHeader`, `URL` → `url`, `IOError` →
    /// `ioError`, `RetryCount` → `retryCount`, `HTTP2Header` → `http2Header`.
    static func lowerLeadingCapitals(_ word: String) -> String {
        let characters = Array(word)
        var run = 0
        while run < characters.count && characters[run].isUppercase { run += 1 }
        if run > 1 && run < characters.count && characters[run].isLowercase { run -= 1 }
        return String(characters[..<run]).lowercased() + String(characters[run...])
    }

    /// A name safe to declare: keywords get backticks.
    static func escaped(_ name: String) -> String {
        keywords.contains(name) ? "`\(name)`" : name
    }

    /// A property or case name: lowerCamelCase, renamed with a trailing `_` when it clashes with the generated API.
    static func member(_ protoName: String) -> String {
        let name = lowerCamel(protoName)
        return reservedMembers.contains(name) || name.hasPrefix("_protoqueue") ? name + "_" : name
    }

    /// A nested or top-level type name.
    static func typeName(_ protoName: String) -> String {
        let name = upperCamel(protoName)
        return reservedTypes.contains(name) ? name + "_" : name
    }

    /// A Swift string literal holding `text`.
    static func stringLiteral(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
