/// A malformed JSON document: the message says what and where.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let offset: Int
    public var description: String { "\(message) at offset \(offset)" }
}

extension JSON {
    /// Parses a whole JSON document. Written by hand because Foundation's parser loses key
    /// order and number text, both of which an API object must keep.
    public static func parse<Bytes: Collection>(_ bytes: Bytes) throws -> JSON where Bytes.Element == UInt8 {
        try parse(bytes, omitting: [])
    }

    /// Parses a document leaving out the member at `path` (for instance
    /// ["metadata", "managedFields"]), which is checked but never built.
    public static func parse<Bytes: Collection>(_ bytes: Bytes, omitting path: [String]) throws -> JSON where Bytes.Element == UInt8 {
        let result = bytes.withContiguousStorageIfAvailable { buf -> Result<JSON, JSONParseError> in
            var parser = JSONParser(buf)
            parser.omit = path
            do { return .success(try parser.parseDocument()) } catch let e as JSONParseError { return .failure(e) } catch {
                return .failure(JSONParseError(message: "\(error)", offset: 0))
            }
        }
        if let result { return try result.get() }
        return try parse(Array(bytes), omitting: path)
    }

    /// The byte range of a top-level member's value in a JSON object document, found
    /// without building any value (nil when absent or not an object).
    public static func rangeOfMember(_ key: String, in bytes: [UInt8]) -> Range<Int>? {
        bytes.withUnsafeBufferPointer { buf in
            var parser = JSONParser(buf)
            return try? parser.rangeOfMember(key)
        }
    }

    public static func parse(_ string: String) throws -> JSON {
        try parse(Array(string.utf8))
    }

    /// Compact serialization, keys in stored order.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out)
        return out
    }

    public func serializedString() -> String { String(decoding: serialized(), as: UTF8.self) }

    public func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let b): out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case .number(let n): out.append(contentsOf: n.text.utf8)
        case .string(let s): JSON.writeString(s, to: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for i in 0..<o.count {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.writeString(o.keys[i], to: &out)
                out.append(UInt8(ascii: ":"))
                o.values[i].write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escaping: copy them whole.
        let copied: Bool? = s.utf8.withContiguousStorageIfAvailable { utf8 in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            out.append(contentsOf: utf8)
            return true
        }
        if copied == true {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Recursive-descent parser over a byte buffer with a nesting limit, so hostile input
/// cannot exhaust the stack.
struct JSONParser {
    static let maxDepth = 512
    let buf: UnsafeBufferPointer<UInt8>
    var pos = 0
    var depth = 0
    /// A member path to leave out, and how many of its keys the current position is in.
    var omit: [String] = []
    var omitMatched = 0

    init(_ buf: UnsafeBufferPointer<UInt8>) { self.buf = buf }

    func fail(_ message: String) -> JSONParseError { JSONParseError(message: message, offset: pos) }

    mutating func parseDocument() throws -> JSON {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard pos == buf.count else { throw fail("unexpected data after the JSON value") }
        return value
    }

    mutating func skipWhitespace() {
        while pos < buf.count {
            switch buf[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws -> JSON {
        guard pos < buf.count else { throw fail("unexpected end of JSON input") }
        switch buf[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("invalid character '\(Character(Unicode.Scalar(buf[pos])))' looking for beginning of value")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws {
        let n = literal.utf8CodeUnitCount
        guard pos + n <= buf.count else { throw fail("unexpected end of JSON input") }
        let lit = UnsafeBufferPointer(start: literal.utf8Start, count: n)
        for i in 0..<n where buf[pos + i] != lit[i] { throw fail("invalid literal") }
        pos += n
    }

    mutating func enter() throws {
        depth += 1
        if depth > JSONParser.maxDepth { throw fail("exceeded max depth of \(JSONParser.maxDepth)") }
    }

    mutating func parseObject() throws -> JSON {
        try enter()
        defer { depth -= 1 }
        pos += 1
        var obj = JSONObject()
        skipWhitespace()
        if pos < buf.count, buf[pos] == UInt8(ascii: "}") { pos += 1; return .object(obj) }
        while true {
            skipWhitespace()
            guard pos < buf.count, buf[pos] == UInt8(ascii: "\"") else { throw fail("expected a string object key") }
            let key = try parseString()
            skipWhitespace()
            guard pos < buf.count, buf[pos] == UInt8(ascii: ":") else { throw fail("expected ':' after object key") }
            pos += 1
            skipWhitespace()
            if omitMatched == depth - 1, omitMatched < omit.count, key == omit[omitMatched] {
                if depth == omit.count {
                    try skipValue()
                } else {
                    omitMatched = depth
                    obj[key] = try parseValue()
                    omitMatched = depth - 1
                }
            } else {
                // Duplicate keys: the last one wins, as in Go's decoder.
                obj[key] = try parseValue()
            }
            skipWhitespace()
            guard pos < buf.count else { throw fail("unexpected end of JSON input") }
            if buf[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if buf[pos] == UInt8(ascii: "}") { pos += 1; return .object(obj) }
            throw fail("expected ',' or '}' in object")
        }
    }

    mutating func parseArray() throws -> JSON {
        try enter()
        defer { depth -= 1 }
        pos += 1
        var arr: [JSON] = []
        skipWhitespace()
        if pos < buf.count, buf[pos] == UInt8(ascii: "]") { pos += 1; return .array(arr) }
        while true {
            skipWhitespace()
            arr.append(try parseValue())
            skipWhitespace()
            guard pos < buf.count else { throw fail("unexpected end of JSON input") }
            if buf[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if buf[pos] == UInt8(ascii: "]") { pos += 1; return .array(arr) }
            throw fail("expected ',' or ']' in array")
        }
    }

    /// Moves past one value, checking its syntax, without building it.
    mutating func skipValue() throws {
        guard pos < buf.count else { throw fail("unexpected end of JSON input") }
        switch buf[pos] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = buf[pos] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            try enter()
            defer { depth -= 1 }
            pos += 1
            skipWhitespace()
            if pos < buf.count, buf[pos] == close { pos += 1; return }
            while true {
                skipWhitespace()
                if isObject {
                    guard pos < buf.count, buf[pos] == UInt8(ascii: "\"") else { throw fail("expected a string object key") }
                    try skipString()
                    skipWhitespace()
                    guard pos < buf.count, buf[pos] == UInt8(ascii: ":") else { throw fail("expected ':' after object key") }
                    pos += 1
                    skipWhitespace()
                }
                try skipValue()
                skipWhitespace()
                guard pos < buf.count else { throw fail("unexpected end of JSON input") }
                if buf[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if buf[pos] == close { pos += 1; return }
                throw fail("expected ',' or a closing bracket")
            }
        case UInt8(ascii: "\""): try skipString()
        default: _ = try parseValue()
        }
    }

    /// Moves past a string; escapes are checked only for their shape.
    mutating func skipString() throws {
        pos += 1
        while pos < buf.count {
            let c = buf[pos]
            pos += 1
            if c == UInt8(ascii: "\"") { return }
            if c == UInt8(ascii: "\\") { pos += 1 } else if c < 0x20 { throw fail("invalid control character in string") }
        }
        throw fail("unexpected end of JSON input")
    }

    mutating func rangeOfMember(_ wanted: String) throws -> Range<Int>? {
        skipWhitespace()
        guard pos < buf.count, buf[pos] == UInt8(ascii: "{") else { return nil }
        pos += 1
        while true {
            skipWhitespace()
            guard pos < buf.count, buf[pos] == UInt8(ascii: "\"") else { return nil }
            let key = try parseString()
            skipWhitespace()
            guard pos < buf.count, buf[pos] == UInt8(ascii: ":") else { return nil }
            pos += 1
            skipWhitespace()
            let start = pos
            try skipValue()
            if key == wanted { return start..<pos }
            skipWhitespace()
            guard pos < buf.count, buf[pos] == UInt8(ascii: ",") else { return nil }
            pos += 1
        }
    }

    mutating func parseNumber() throws -> JSONNumber {
        let start = pos
        if buf[pos] == UInt8(ascii: "-") { pos += 1 }
        func digits(_ p: inout Int) -> Int {
            let s = p
            while p < buf.count, buf[p] >= 0x30, buf[p] <= 0x39 { p += 1 }
            return p - s
        }
        guard pos < buf.count else { throw fail("invalid number") }
        if buf[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if digits(&pos) == 0 {
            throw fail("invalid number")
        }
        if pos < buf.count, buf[pos] == UInt8(ascii: ".") {
            pos += 1
            if digits(&pos) == 0 { throw fail("invalid number") }
        }
        if pos < buf.count, buf[pos] == UInt8(ascii: "e") || buf[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < buf.count, buf[pos] == UInt8(ascii: "+") || buf[pos] == UInt8(ascii: "-") { pos += 1 }
            if digits(&pos) == 0 { throw fail("invalid number") }
        }
        return JSONNumber(literal: String(decoding: UnsafeBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self))
    }

    mutating func parseString() throws -> String {
        pos += 1
        let start = pos
        // Fast path: no escapes. Invalid UTF-8 becomes U+FFFD, as in Go's encoding/json.
        while pos < buf.count {
            let c = buf[pos]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: buf[start..<pos])
                pos += 1
                return String(decoding: slice, as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("invalid control character in string") }
            pos += 1
        }
        var bytes = Array(UnsafeBufferPointer(rebasing: buf[start..<pos]))
        while pos < buf.count {
            let c = buf[pos]
            switch c {
            case UInt8(ascii: "\""):
                pos += 1
                return String(decoding: bytes, as: UTF8.self)
            case UInt8(ascii: "\\"):
                pos += 1
                guard pos < buf.count else { throw fail("unexpected end of JSON input") }
                let e = buf[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "\""): bytes.append(0x22)
                case UInt8(ascii: "\\"): bytes.append(0x5C)
                case UInt8(ascii: "/"): bytes.append(0x2F)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by a low one; otherwise U+FFFD, as Go does.
                        if pos + 1 < buf.count, buf[pos] == UInt8(ascii: "\\"), buf[pos + 1] == UInt8(ascii: "u") {
                            let save = pos
                            pos += 2
                            let low = try hex4()
                            if (0xDC00..<0xE000).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                pos = save
                                scalar = 0xFFFD
                            }
                        } else {
                            scalar = 0xFFFD
                        }
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        scalar = 0xFFFD
                    }
                    bytes.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
                default: throw fail("invalid escape in string")
                }
            default:
                if c < 0x20 { throw fail("invalid control character in string") }
                bytes.append(c)
                pos += 1
            }
        }
        throw fail("unexpected end of JSON input")
    }

    mutating func hex4() throws -> UInt32 {
        guard pos + 4 <= buf.count else { throw fail("invalid \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = buf[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }
}
