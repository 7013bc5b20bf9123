/// A JSON value that is the source of truth for every API object.
///
/// Objects keep their keys in the order a client sent them and numbers keep their
/// literal text, so an object survives a round trip byte for byte (no float rounding of
/// int64 fields, no reordering).
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSON])
    case object(JSONObject)
}

/// A JSON number kept as its literal text; read it as the width you need.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    public init(literal text: String) { self.text = text }
    public init(_ value: Int64) { self.text = String(value) }
    public init(_ value: Int) { self.text = String(value) }
    public init(_ value: Double) {
        if value.rounded() == value, abs(value) < 1e15 {
            self.text = String(Int64(value))
        } else {
            self.text = "\(value)"
        }
    }

    public var int64: Int64? { Int64(text) ?? Double(text).flatMap { $0.rounded() == $0 ? Int64(exactly: $0) : nil } }
    public var double: Double? { Double(text) }
    public var isInteger: Bool { Int64(text) != nil }
    public var description: String { text }
}

/// An insertion-ordered JSON object. Linear lookup: API objects have few keys per level.
public struct JSONObject: Sendable, Hashable, Sequence {
    public private(set) var keys: [String] = []
    public private(set) var values: [JSON] = []

    public init() {}
    public init(_ pairs: [(String, JSON)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public func index(of key: String) -> Int? { keys.firstIndex(of: key) }

    public subscript(key: String) -> JSON? {
        get { index(of: key).map { values[$0] } }
        set {
            if let i = index(of: key) {
                if let newValue { values[i] = newValue } else { keys.remove(at: i); values.remove(at: i) }
            } else if let newValue {
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    /// Mutates the value at `key` in place (added as `initial` when absent). The value is
    /// taken out while `body` runs, so nested edits never copy the levels above.
    public mutating func update(_ key: String, initial: JSON = .null, _ body: (inout JSON) -> Void) {
        if let i = index(of: key) {
            var v = values[i]
            values[i] = .null
            body(&v)
            values[i] = v
        } else {
            var v = initial
            body(&v)
            keys.append(key)
            values.append(v)
        }
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSON? {
        guard let i = index(of: key) else { return nil }
        keys.remove(at: i)
        return values.remove(at: i)
    }

    public func makeIterator() -> Zip2Sequence<[String], [JSON]>.Iterator {
        zip(keys, values).makeIterator()
    }

    /// Equality ignores key order, as JSON semantics do.
    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        guard a.count == b.count else { return false }
        for (k, v) in a where b[k] != v { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for k in keys.sorted() { hasher.combine(k); hasher.combine(self[k]) }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSON)...) { self.init(elements) }
}

extension JSON {
    public var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }
    public var arrayValue: [JSON]? { if case .array(let a) = self { a } else { nil } }
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var int64Value: Int64? { if case .number(let n) = self { n.int64 } else { nil } }
    public var intValue: Int? { int64Value.map { Int($0) } }
    public var doubleValue: Double? { if case .number(let n) = self { n.double } else { nil } }
    public var isNull: Bool { if case .null = self { true } else { false } }
    public var isObject: Bool { objectValue != nil }

    /// The JSON type name used in error messages ("string", "object", ...).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Member access on objects; nil for other values or missing keys. Setting on a
    /// non-object turns it into an object.
    public subscript(key: String) -> JSON? {
        get { objectValue?[key] }
        set { updateObject { $0[key] = newValue } }
    }

    /// Edits this value as an object (turning it into one if it is not), in place: the
    /// object is detached from `self` during the edit, so its storage is not copied.
    public mutating func updateObject(_ body: (inout JSONObject) -> Void) {
        var o: JSONObject
        if case .object(let existing) = self { o = existing } else { o = JSONObject() }
        self = .null
        body(&o)
        self = .object(o)
    }

    /// Reads a nested value along a path of keys.
    public subscript(path path: [String]) -> JSON? {
        get {
            var cur: JSON? = self
            for k in path { cur = cur?[k] }
            return cur
        }
        set { set(path[...], newValue) }
    }

    private mutating func set(_ path: ArraySlice<String>, _ newValue: JSON?) {
        guard let first = path.first else {
            self = newValue ?? .null
            return
        }
        if path.count == 1 {
            self[first] = newValue
            return
        }
        updateObject { o in
            o.update(first, initial: .object(JSONObject())) { child in
                if !child.isObject { child = .object(JSONObject()) }
                child.set(path.dropFirst(), newValue)
            }
        }
    }
}
