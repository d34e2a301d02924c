@_spi(ProtoqueueGenerated) import ProtoqueueCodec

extension ProtoJSONEncoder {
    /// Writes one scalar value of `field` without its tag.
    func scalar(
        _ value: JSONValue, field: FieldSchema, path: String, to writer: inout WireWriter
    ) throws(ProtoqueueError) {
        switch field.type {
        case .double: writer.fixed(try floating(value, path: path).bitPattern, width: 8)
        case .float:
            let double = try floating(value, path: path)
            guard double.isNaN || double.isInfinite || Float(double).isFinite else {
                throw failure(path, "\(double) is out of range for a float")
            }
            writer.fixed(UInt64(Float(double).bitPattern), width: 4)
        case .int64, .sfixed64, .sint64:
            let number = try integer(value, path: path, range: Int64.min...Int64.max)
            if field.type == .sfixed64 {
                writer.fixed(UInt64(bitPattern: number), width: 8)
            } else if field.type == .sint64 {
                writer.varint(UInt64(bitPattern: (number << 1) ^ (number >> 63)))
            } else {
                writer.varint(UInt64(bitPattern: number))
            }
        case .uint64, .fixed64:
            let number = try unsigned(value, path: path)
            if field.type == .fixed64 { writer.fixed(number, width: 8) } else { writer.varint(number) }
        case .int32, .sint32, .sfixed32:
            let number = Int32(try integer(value, path: path, range: Int64(Int32.min)...Int64(Int32.max)))
            switch field.type {
            case .sfixed32: writer.fixed(UInt64(UInt32(bitPattern: number)), width: 4)
            case .sint32: writer.varint(UInt64(UInt32(bitPattern: (number << 1) ^ (number >> 31))))
            default: writer.varint(UInt64(bitPattern: Int64(number)))
            }
        case .uint32, .fixed32:
            let number = try integer(value, path: path, range: 0...Int64(UInt32.max))
            if field.type == .fixed32 { writer.fixed(UInt64(number), width: 4) } else { writer.varint(UInt64(number)) }
        case .bool:
            guard case .bool(let flag) = value else { throw failure(path, "expected true or false") }
            writer.varint(flag ? 1 : 0)
        case .string:
            guard case .string(let text) = value else { throw failure(path, "expected a string") }
            writer.varint(UInt64(text.utf8.count))
            writer.bytes += Array(text.utf8)
        case .bytes:
            guard case .string(let text) = value, let bytes = ProtoqueueBase64.decode(text) else {
                throw failure(path, "expected base64 text")
            }
            writer.varint(UInt64(bytes.count))
            writer.bytes += bytes
        case .enumeration: writer.varint(UInt64(bitPattern: Int64(try enumNumber(value, field: field, path: path))))
        case .message, .group: throw failure(path, "a message is not a scalar")
        }
    }

    func enumNumber(_ value: JSONValue, field: FieldSchema, path: String) throws(ProtoqueueError) -> Int32 {
        guard let enumeration = schemas.enumeration(field.typeName) else {
            throw ProtoqueueError(.invalidSchema, "the schemas do not declare enum \(field.typeName)")
        }
        if case .string(let name) = value {
            guard let known = enumeration.value(named: name) else {
                throw failure(path, "enum \(enumeration.fullName) has no value \(name)")
            }
            return known.number
        }
        let number = Int32(try integer(value, path: path, range: Int64(Int32.min)...Int64(Int32.max)))
        guard enumeration.isProto3 || enumeration.value(number: number) != nil else {
            throw failure(path, "enum \(enumeration.fullName) has no value \(number)")
        }
        return number
    }

    /// A number or a numeric string as a double; `NaN`, `Infinity` and `-Infinity` as strings.
    func floating(_ value: JSONValue, path: String) throws(ProtoqueueError) -> Double {
        switch value {
        case .number(let text):
            guard let number = Double(text), number.isFinite else { throw failure(path, "\(text) is out of range") }
            return number
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        case .string(let text):
            guard let number = Double(text), number.isFinite, !text.contains(where: \.isWhitespace) else {
                throw failure(path, "\"\(text)\" is not a number")
            }
            return number
        default: throw failure(path, "expected a number")
        }
    }

    /// An integer in `range`, from a number (an integral one written with a fraction or exponent too) or a string.
    func integer(_ value: JSONValue, path: String, range: ClosedRange<Int64>) throws(ProtoqueueError) -> Int64 {
        let text: String
        switch value {
        case .number(let written), .string(let written): text = written
        default: throw failure(path, "expected an integer")
        }
        if let exact = Int64(text), range.contains(exact) { return exact }
        if Int64(text) == nil, let double = Double(text), double.rounded() == double,
            abs(double) <= 9_007_199_254_740_992,
            range.contains(Int64(double))
        {
            return Int64(double)
        }
        throw failure(path, "\(text) is not an integer in \(range.lowerBound)...\(range.upperBound)")
    }

    /// An unsigned 64-bit integer from a number or a string.
    func unsigned(_ value: JSONValue, path: String) throws(ProtoqueueError) -> UInt64 {
        switch value {
        case .number(let text), .string(let text):
            if let exact = UInt64(text) { return exact }
            if let double = Double(text), double >= 0, double.rounded() == double, double <= 9_007_199_254_740_992 {
                return UInt64(double)
            }
            throw failure(path, "\(text) is not an integer in 0...\(UInt64.max)")
        default: throw failure(path, "expected an integer")
        }
    }
}
