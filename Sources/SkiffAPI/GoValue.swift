import SkiffCore

/// How upstream's Go code sees a decoded JSON value: its dynamic type, `==`, and `fmt`'s
/// printing (which its error messages carry).
/// Go's strconv.FormatFloat(v, 'g', -1, 64), as Go programs print floats (Prometheus sample
/// values among them).
public func goFormatFloat(_ value: Double) -> String { GoValue.goFloat(value) }

enum GoValue {
    enum Kind: Equatable { case null, bool, string, int64, float64, object, array }

    /// A comparable scalar, as Go's interface equality and map keys see it.
    enum Key: Hashable {
        case null
        case bool(Bool)
        case string(String)
        case int64(Int64)
        case float64(Double)
    }

    /// Integers without fraction or exponent decode as int64, other numbers as float64.
    static func kind(of value: JSON) -> Kind {
        switch value {
        case .null: .null
        case .bool: .bool
        case .string: .string
        case .number(let number): Int64(number.text) != nil ? .int64 : .float64
        case .object: .object
        case .array: .array
        }
    }

    static func sameType(_ a: JSON, _ b: JSON) -> Bool { kind(of: a) == kind(of: b) }

    /// Maps and lists cannot be compared or hashed in Go: doing so panics.
    static func key(_ value: JSON) throws(StrategicMergePatch.Failure) -> Key {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .string(let text): return .string(text)
        case .number(let number):
            if let integer = Int64(number.text) { return .int64(integer) }
            return .float64(number.double ?? 0)
        case .object, .array:
            throw .serverPanic("hash of unhashable type \(typeName(value))")
        }
    }

    /// Go's `==` on two interface values: different dynamic types are unequal, and two maps
    /// or two lists panic.
    static func equal(_ a: JSON, _ b: JSON) throws(StrategicMergePatch.Failure) -> Bool {
        guard sameType(a, b) else { return false }
        return try key(a) == key(b)
    }

    /// reflect's name of the dynamic type, or what `%s` prints for a nil type.
    static func typeName(_ value: JSON) -> String {
        switch kind(of: value) {
        case .null: "%!s(<nil>)"
        case .bool: "bool"
        case .string: "string"
        case .int64: "int64"
        case .float64: "float64"
        case .object: "map[string]interface {}"
        case .array: "[]interface {}"
        }
    }

    enum Verb { case v, s }

    /// `fmt`'s `%v` (or `%s`) of the value: maps print as `map[k:v ...]` with sorted keys,
    /// lists as `[a b]`, nil as `<nil>`.
    static func format(_ value: JSON, verb: Verb = .v) -> String {
        switch value {
        case .null:
            return verb == .v ? "<nil>" : "%!s(<nil>)"
        case .bool(let flag):
            return verb == .v ? String(flag) : "%!s(bool=\(flag))"
        case .string(let text):
            return text
        case .number(let number):
            let text: String
            if let integer = Int64(number.text) {
                text = String(integer)
            } else {
                text = goFloat(number.double ?? 0)
            }
            return verb == .v ? text : "%!s(\(kind(of: value) == .int64 ? "int64" : "float64")=\(text))"
        case .array(let elements):
            return "[" + elements.map { format($0, verb: verb) }.joined(separator: " ") + "]"
        case .object(let members):
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let pairs = keys.map { key in "\(key):\(format(members[key] ?? .null, verb: verb))" }
            return "map[" + pairs.joined(separator: " ") + "]"
        }
    }

    /// strconv.FormatFloat(x, 'g', -1, 64): shortest digits, exponent form when the decimal
    /// exponent is below -4 or at least 6 ("1e+06", "1.5e-05", "123456").
    static func goFloat(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-Inf" : "+Inf") }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        let (digits, pointPosition) = shortestDigits(abs(value))
        let sign = value < 0 ? "-" : ""
        let exponent = pointPosition - 1
        if exponent < -4 || exponent >= 6 {
            var mantissa = String(digits.prefix(1))
            if digits.count > 1 { mantissa += "." + digits.dropFirst() }
            let magnitude = abs(exponent)
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (magnitude < 10 ? "0" : "") + String(magnitude)
        }
        if pointPosition <= 0 {
            return sign + "0." + String(repeating: "0", count: -pointPosition) + digits
        }
        if pointPosition >= digits.count {
            return sign + digits + String(repeating: "0", count: pointPosition - digits.count)
        }
        return sign + digits.prefix(pointPosition) + "." + digits.dropFirst(pointPosition)
    }

    /// The shortest round-tripping decimal digits of a positive double (no leading or trailing
    /// zeros) and where the decimal point goes relative to them.
    static func shortestDigits(_ value: Double) -> (String, Int) {
        let description = "\(value)"
        let parts = description.split(separator: "e", maxSplits: 1)
        let mantissa = parts.first.map(String.init) ?? description
        let exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let integerPart = mantissa.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init) ?? mantissa
        var digits = mantissa.filter { $0 != "." }
        var point = integerPart.count + exponent
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            point -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        return (digits, point)
    }
}
