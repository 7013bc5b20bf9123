import SkiffCore

/// One step of a field path, as structured-merge-diff's `fieldpath.PathElement` names it: a
/// struct field or map key, a list-map item by its key fields, a set item by its value, or
/// an atomic list's index. Values are kept canonical (see `SSAValue.canonical`) so that
/// `80`, `80.0` and a key read back from FieldsV1 are the same element.
enum FieldPathElement: Hashable, Sendable {
    case field(String)
    case key([KeyField])
    case value(JSON)
    case index(Int)
}

/// One key field of a list-map item; a `.key` element keeps them sorted by name.
struct KeyField: Hashable, Sendable {
    var name: String
    var value: JSON
}

typealias FieldPath = [FieldPathElement]

/// A malformed `fieldsV1` (or one of its path-element keys).
struct FieldsV1Error: Error, Sendable {
    var message: String
}

// MARK: - Order

extension FieldPathElement {
    /// structured-merge-diff's total order: fields, then keys, then values, then indexes.
    /// FieldsV1 is written in this order, and conflicts are listed in it.
    func compare(_ other: FieldPathElement) -> Int {
        switch (self, other) {
        case (.field(let a), .field(let b)): return SSAValue.compareStrings(a, b)
        case (.key(let a), .key(let b)): return Self.compareKeys(a, b)
        case (.value(let a), .value(let b)): return SSAValue.compare(a, b)
        case (.index(let a), .index(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        default: return rank < other.rank ? -1 : 1
        }
    }

    /// Whether this is a struct field or map key (whose FieldsV1 key is always `f:` + name).
    var isField: Bool { if case .field = self { true } else { false } }

    private var rank: Int {
        switch self {
        case .field: 0
        case .key: 1
        case .value: 2
        case .index: 3
        }
    }

    private static func compareKeys(_ a: [KeyField], _ b: [KeyField]) -> Int {
        for (x, y) in zip(a, b) {
            let byName = SSAValue.compareStrings(x.name, y.name)
            if byName != 0 { return byName }
            let byValue = SSAValue.compare(x.value, y.value)
            if byValue != 0 { return byValue }
        }
        return a.count < b.count ? -1 : (a.count == b.count ? 0 : 1)
    }

    static func sorted<S: Sequence>(_ elements: S) -> [FieldPathElement] where S.Element == FieldPathElement {
        elements.sorted { $0.compare($1) < 0 }
    }
}

// MARK: - Text forms

extension FieldPathElement: CustomStringConvertible {
    /// The form conflict messages print (`.spec`, `[name="nginx"]`, `[="a"]`, `[0]`).
    var description: String {
        switch self {
        case .field(let name): return "." + name
        case .key(let fields):
            return "[" + fields.map { "\($0.name)=\(SSAValue.goString($0.value))" }.joined(separator: ",") + "]"
        case .value(let v): return "[=\(SSAValue.goString(v))]"
        case .index(let i): return "[\(i)]"
        }
    }

    /// The FieldsV1 key: `f:name`, `k:{"name":"x"}`, `v:"a"`, `i:0`.
    var serialized: String {
        switch self {
        case .field(let name): return "f:" + name
        case .key(let fields):
            var out = "k:{"
            out.reserveCapacity(16 * fields.count + 4)
            for (i, field) in fields.enumerated() {
                if i > 0 { out += "," }
                SSAValue.appendGoJSONString(field.name, to: &out)
                out += ":"
                SSAValue.appendGoJSON(field.value, to: &out)
            }
            out += "}"
            return out
        case .value(let v):
            var out = "v:"
            SSAValue.appendGoJSON(v, to: &out)
            return out
        case .index(let i): return "i:\(i)"
        }
    }

    /// Reads a FieldsV1 key; nil for an element type this version does not know, which
    /// upstream skips rather than fails on.
    static func parse(_ text: String) throws(FieldsV1Error) -> FieldPathElement? {
        let utf8 = text.utf8
        var bytes = utf8.makeIterator()
        guard let kind = bytes.next(), let colon = bytes.next() else {
            throw FieldsV1Error(message: "key must be 2 characters long: \(text)")
        }
        guard colon == UInt8(ascii: ":") else { throw FieldsV1Error(message: "missing colon: \(text)") }
        let rest = String(decoding: utf8[utf8.index(utf8.startIndex, offsetBy: 2)...], as: UTF8.self)
        switch kind {
        case UInt8(ascii: "f"): return .field(rest)
        case UInt8(ascii: "v"): return .value(SSAValue.canonical(try parseJSON(rest)))
        case UInt8(ascii: "k"):
            guard case .object(let members) = try parseJSON(rest) else {
                throw FieldsV1Error(message: "key element is not an object: \(text)")
            }
            return .key(sortedKeys(members.map { KeyField(name: $0.0, value: SSAValue.canonical($0.1)) }))
        case UInt8(ascii: "i"):
            guard let index = Int(rest) else { throw FieldsV1Error(message: "invalid index: \(text)") }
            return .index(index)
        default: return nil
        }
    }

    static func sortedKeys(_ fields: [KeyField]) -> [KeyField] {
        // Stable, as Go's sort.SliceStable (an insertion sort is): equal names cannot occur
        // in a JSON object anyway.
        var out = fields
        for i in out.indices.dropFirst() {
            var j = i
            while j > 0, SSAValue.compareStrings(out[j - 1].name, out[j].name) > 0 {
                out.swapAt(j - 1, j)
                j -= 1
            }
        }
        return out
    }

    private static func parseJSON(_ text: String) throws(FieldsV1Error) -> JSON {
        do { return try JSON.parse(text) } catch { throw FieldsV1Error(message: "\(error)") }
    }
}

extension Array where Element == FieldPathElement {
    /// `.spec.template.spec.containers[name="nginx"].image`, as upstream prints a path.
    var pathString: String { map(\.description).joined() }
}

// MARK: - Values

/// Value helpers with structured-merge-diff's semantics: numbers compare by value, objects
/// ignore key order, and text is written the way Go's JSON encoder writes it.
enum SSAValue {
    /// Numbers rewritten to one text per value, recursively, so equal values hash equally.
    static func canonical(_ value: JSON) -> JSON {
        switch value {
        case .number(let n): return .number(canonicalNumber(n))
        case .array(let items): return .array(items.map(canonical))
        case .object(let members): return .object(JSONObject(members.map { ($0.0, canonical($0.1)) }))
        default: return value
        }
    }

    static func canonicalNumber(_ n: JSONNumber) -> JSONNumber {
        if let i = Int64(n.text) {
            // Digits without a sign or leading zero are already how Int64 prints.
            if let first = n.text.utf8.first, first != UInt8(ascii: "0") || n.text.utf8.count == 1, first != UInt8(ascii: "-"),
               first != UInt8(ascii: "+") { return n }
            return JSONNumber(i)
        }
        guard let d = Double(n.text) else { return n }
        if d.rounded() == d, abs(d) < 9e15 { return JSONNumber(Int64(d)) }
        return JSONNumber(literal: "\(d)")
    }

    /// Deep equality as `value.Equals`: numbers by value, objects regardless of key order.
    /// Shared storage and keys in the same order (the usual case) are taken as shortcuts.
    static func equal(_ a: JSON, _ b: JSON) -> Bool { deepEqual(a, b, numbersByText: false) }

    /// Equality that also tells numbers apart by their text (`1000` and `1e3`), for
    /// shortcuts: values the same by it are the same after any normalization.
    static func same(_ a: JSON, _ b: JSON) -> Bool { deepEqual(a, b, numbersByText: true) }

    private static func deepEqual(_ a: JSON, _ b: JSON, numbersByText: Bool) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x == y
        case (.number(let x), .number(let y)): return numbersByText ? x.text == y.text : numbersEqual(x, y)
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            if sameStorage(x, y) { return true }
            for i in x.indices where !deepEqual(x[i], y[i], numbersByText: numbersByText) { return false }
            return true
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            let (xk, yk) = (x.keys, y.keys)
            if sameStorage(x.values, y.values), xk == yk { return true }
            var i = 0
            // Keys in the same order pair up by position; after the first difference,
            // the rest are looked up by name.
            while i < xk.count, xk[i] == yk[i] {
                if !deepEqual(x.values[i], y.values[i], numbersByText: numbersByText) { return false }
                i += 1
            }
            while i < xk.count {
                guard let other = y[xk[i]], deepEqual(x.values[i], other, numbersByText: numbersByText) else { return false }
                i += 1
            }
            return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// `same` that also requires objects' keys in the same order: values that serialize
    /// alike.
    static func identical(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            guard x.count == y.count, x.keys == y.keys else { return false }
            if sameStorage(x.values, y.values) { return true }
            for i in x.values.indices where !identical(x.values[i], y.values[i]) { return false }
            return true
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            if sameStorage(x, y) { return true }
            for i in x.indices where !identical(x[i], y[i]) { return false }
            return true
        default:
            return same(a, b)
        }
    }

    /// Whether two values are the same by identity: equal scalars, or lists and objects that
    /// share storage. Cheap, and false says nothing.
    static func sameStorage(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)): return x.count == y.count && sameStorage(x.values, y.values) && x.keys == y.keys
        case (.array(let x), .array(let y)): return sameStorage(x, y)
        case (.string(let x), .string(let y)): return x == y
        case (.number(let x), .number(let y)): return x.text == y.text
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// Whether two arrays share one buffer (then they are equal without looking).
    static func sameStorage(_ x: [JSON], _ y: [JSON]) -> Bool {
        x.withUnsafeBufferPointer { p in y.withUnsafeBufferPointer { q in p.baseAddress == q.baseAddress && p.count == q.count } }
    }

    static func numbersEqual(_ x: JSONNumber, _ y: JSONNumber) -> Bool {
        if x.text == y.text { return true }
        if let i = Int64(x.text), let j = Int64(y.text) { return i == j }
        return x.double == y.double
    }

    /// `value.Compare`: numbers < strings < booleans < lists < maps < null.
    static func compare(_ a: JSON, _ b: JSON) -> Int {
        let (ra, rb) = (rank(a), rank(b))
        guard ra == rb else { return ra < rb ? -1 : 1 }
        switch (a, b) {
        case (.number(let x), .number(let y)): return compareNumbers(x, y)
        case (.string(let x), .string(let y)): return compareStrings(x, y)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (x ? 1 : -1)
        case (.array(let x), .array(let y)):
            for (p, q) in zip(x, y) {
                let c = compare(p, q)
                if c != 0 { return c }
            }
            return x.count < y.count ? -1 : (x.count == y.count ? 0 : 1)
        case (.object(let x), .object(let y)): return compareObjects(x, y)
        default: return 0
        }
    }

    private static func rank(_ v: JSON) -> Int {
        switch v {
        case .number: 0
        case .string: 1
        case .bool: 2
        case .array: 3
        case .object: 4
        case .null: 5
        }
    }

    private static func compareNumbers(_ x: JSONNumber, _ y: JSONNumber) -> Int {
        if let i = Int64(x.text), let j = Int64(y.text) { return i < j ? -1 : (i == j ? 0 : 1) }
        let (p, q) = (x.double ?? 0, y.double ?? 0)
        return p < q ? -1 : (p == q ? 0 : 1)
    }

    private static func compareObjects(_ x: JSONObject, _ y: JSONObject) -> Int {
        let xs = x.keys.sorted { compareStrings($0, $1) < 0 }
        let ys = y.keys.sorted { compareStrings($0, $1) < 0 }
        for (k, l) in zip(xs, ys) {
            let byKey = compareStrings(k, l)
            if byKey != 0 { return byKey }
            let byValue = compare(x[k] ?? .null, y[l] ?? .null)
            if byValue != 0 { return byValue }
        }
        return xs.count < ys.count ? -1 : (xs.count == ys.count ? 0 : 1)
    }

    /// Go's strings.Compare: byte order of the UTF-8 text.
    static func compareStrings(_ a: String, _ b: String) -> Int {
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in compareBytes(x, y) }
        }
        if let fast = fast ?? nil { return fast }
        if a == b { return 0 }
        return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
    }

    private static func compareBytes(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Int {
        let n = min(x.count, y.count)
        var i = 0
        while i < n {
            let (p, q) = (x[i], y[i])
            if p != q { return p < q ? -1 : 1 }
            i += 1
        }
        return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
    }

    /// JSON as Go's encoder (jsoniter, standard-library compatible) writes it: compact, map
    /// keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped.
    static func goJSON(_ value: JSON) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return canonicalNumber(n).text
        case .string(let s): return goJSONString(s)
        case .array(let items): return "[" + items.map(goJSON).joined(separator: ",") + "]"
        case .object(let members):
            let keys = members.keys.sorted { compareStrings($0, $1) < 0 }
            return "{" + keys.map { goJSONString($0) + ":" + goJSON(members[$0] ?? .null) }.joined(separator: ",") + "}"
        }
    }

    /// `goJSON` appended to `out`: scalars without building intermediate strings.
    static func appendGoJSON(_ value: JSON, to out: inout String) {
        switch value {
        case .string(let s): appendGoJSONString(s, to: &out)
        case .number(let n): out += canonicalNumber(n).text
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array, .object: out += goJSON(value)
        }
    }

    static func appendGoJSONString(_ s: String, to out: inout String) {
        if needsNoEscaping(s) {
            out += "\""
            out += s
            out += "\""
        } else {
            out += goJSONString(s)
        }
    }

    /// Most text needs no escaping at all.
    private static func needsNoEscaping(_ s: String) -> Bool {
        s.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x80 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\")
            && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") && $0 != UInt8(ascii: "&") }
    }

    static func goJSONString(_ s: String) -> String {
        if needsNoEscaping(s) { return "\"" + s + "\"" }
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}": out += unicodeEscape(scalar.value)
            default: out += scalar.value < 0x20 ? unicodeEscape(scalar.value) : String(scalar)
            }
        }
        return out + "\""
    }

    private static func unicodeEscape(_ v: UInt32) -> String {
        let hex = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// `value.ToString`: strings Go-quoted (`%q`), other scalars as Go prints them.
    static func goString(_ value: JSON) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return canonicalNumber(n).text
        case .string(let s): return goQuote(s)
        case .array(let items): return "[" + items.map(goString).joined(separator: ",") + "]"
        case .object(let members): return members.map { "\($0.0)=\(goString($0.1))" }.joined()
        }
    }
}

// MARK: - Building objects

extension SSAValue {
    /// Empty objects with room for 2^k members. `JSONObject` cannot reserve capacity, and
    /// built member by member its two arrays reallocate at every doubling; appending to a
    /// copy of one of these copies it once into storage of the same capacity instead.
    private static let presized: [JSONObject] = (1...7).map { k in
        var object = JSONObject()
        let names = (0..<(1 << k)).map { "\($0)" }
        for name in names { object[name] = .null }
        for name in names.reversed() { object.removeValue(forKey: name) }
        return object
    }

    /// An object of `pairs`, whose keys must be distinct, allocated once.
    static func object(_ pairs: [(String, JSON)]) -> JSONObject {
        var object = emptyObject(capacity: pairs.count)
        for (key, value) in pairs { object[key] = value }
        return object
    }

    /// An empty object that takes `capacity` members without growing.
    static func emptyObject(capacity: Int) -> JSONObject {
        guard capacity > 1 else { return JSONObject() }
        let k = Int.bitWidth - (capacity - 1).leadingZeroBitCount
        return k <= presized.count ? presized[k - 1] : JSONObject()
    }
}
