/// A resource amount as k8s.io/apimachinery/pkg/api/resource.Quantity: an exact decimal
/// (no floating point) that remembers its notation — decimal SI ("500m", "2G"), binary SI
/// ("1Gi") or decimal exponent ("1e3") — and prints upstream's canonical form, because that
/// string is what gets stored and returned to clients ("0.5" reads back as "500m").
///
/// Equality, hashing and ordering compare values only, as upstream's `Equal`/`Cmp` do, so
/// "1Ki" == "1024".
public struct Quantity: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// How the quantity prints; the raw values are upstream's Format names.
    public enum Format: String, Sendable {
        case decimalExponent = "DecimalExponent"
        case binarySI = "BinarySI"
        case decimalSI = "DecimalSI"
    }

    /// ParseQuantity's three errors, with upstream's messages.
    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case formatWrong
        case numeric
        case suffix

        public var description: String {
            switch self {
            case .formatWrong:
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
            case .numeric:
                "unable to parse numeric part of quantity"
            case .suffix:
                "unable to parse quantity's suffix"
            }
        }
    }

    // The value is ±magnitude × 10^exponent, kept normalized (no factor of ten left in
    // magnitude; zero is +0 × 10^0) so equal values have equal representations.
    private var negative: Bool
    private var magnitude: Magnitude
    private var exponent: Int

    /// Changing the format drops the remembered input text.
    public var format: Format {
        didSet { cachedText = nil }
    }

    /// Upstream re-emits the input verbatim when it parsed on its fast path and already
    /// looked canonical (quirks included: "+1" stays "+1", "100.035k" stays as written).
    private var cachedText: String?

    private init(negative: Bool, magnitude: Magnitude, exponent: Int, format: Format, cachedText: String? = nil) {
        var magnitude = magnitude
        var exponent = exponent
        if magnitude.isZero {
            self.negative = false
            exponent = 0
        } else {
            self.negative = negative
            while magnitude.remainder(dividingBy: 10) == 0 {
                _ = magnitude.divide(by: 10)
                exponent += 1
            }
        }
        self.magnitude = magnitude
        self.exponent = exponent
        self.format = format
        self.cachedText = cachedText
    }

    public static let zero = Quantity(0)

    /// NewQuantity: `value` units.
    public init(_ value: Int64, format: Format = .decimalSI) {
        self.init(value, scale: 0, format: format)
    }

    /// NewMilliQuantity: `value` thousandths.
    public init(milli value: Int64, format: Format = .decimalSI) {
        self.init(value, scale: -3, format: format)
    }

    /// NewScaledQuantity (with a format): `value` × 10^scale.
    public init(_ value: Int64, scale: Int, format: Format = .decimalSI) {
        self.init(negative: value < 0, magnitude: Magnitude(value.magnitude), exponent: scale, format: format)
    }

    // MARK: Parsing

    /// ParseQuantity. No whitespace is allowed; see `init(json:)` for the JSON form.
    public init(parsing text: String) throws(ParseError) {
        let s = Array(text.utf8)
        if s.isEmpty { throw .formatWrong }
        if text == "0" {
            self.init(negative: false, magnitude: Magnitude(), exponent: 0, format: .decimalSI, cachedText: text)
            return
        }
        let scanned = try Self.scan(s)
        guard let suffix = Self.interpret(scanned.suffix) else { throw .suffix }

        let shifted = scanned.numerator + scanned.denominator

        // Upstream's int64 fast path: it decides whether the input text is kept, and values
        // it cannot take go through the decimal path, which rounds and caps.
        var fastPath = false
        var keepText = false
        switch suffix.format {
        case .decimalSI, .decimalExponent:
            let scale = Int(suffix.exponent) - scanned.denominator.count
            if 18 - shifted.count >= 0 && scale >= -9 {
                fastPath = true
                keepText = scale % 3 == 0 && !shifted.reversed().starts(with: [48, 48, 48]) && shifted.first != 48
            }
        case .binarySI:
            let precision = 15 - scanned.numerator.count - Int(suffix.exponent) * 3 / 10 - 1
            if suffix.exponent >= 0 && scanned.denominator.isEmpty && precision >= 0 {
                fastPath = true
                // At most 11 digits here, so it fits; the text is kept when it is not a multiple of 8.
                let numerator = Int64(String(decoding: scanned.numerator, as: UTF8.self)) ?? 0
                keepText = suffix.exponent % 10 == 0 && numerator & 7 != 0
            }
        }
        if !fastPath && !scanned.value.contains(where: { $0 >= 48 && $0 <= 57 }) {
            throw .numeric
        }

        // Trailing zeros go into the exponent before the digits become an integer.
        var significant = shifted
        var exponent = -scanned.denominator.count
        while significant.count > 1 && significant.last == 48 {
            significant.removeLast()
            exponent += 1
        }
        var digits = Magnitude(decimalDigits: significant)
        if suffix.base == 10 {
            exponent += Int(suffix.exponent)
        } else {
            digits.shiftLeft(Int(suffix.exponent))
        }
        var format = suffix.format
        if !fastPath && !digits.isZero {
            // Round up to whole nano units: asking for any amount gets at least 1n.
            if exponent < -9 {
                if digits.divideByPowerOfTen(-9 - exponent) { digits.add(Magnitude(1)) }
                exponent = -9
            }
            if format == .binarySI {
                let value = Quantity(negative: false, magnitude: digits, exponent: exponent, format: format)
                if value > Self.maxInt64 {
                    digits = Magnitude(UInt64(Int64.max))
                    exponent = 0
                } else if value < Self.one {
                    format = .decimalSI
                }
            }
        }
        self.init(negative: !scanned.positive, magnitude: digits, exponent: exponent, format: format,
                  cachedText: keepText ? text : nil)
    }

    private static let maxInt64 = Quantity(Int64.max)
    private static let one = Quantity(1)

    private struct Scanned {
        var positive = true
        var value: ArraySlice<UInt8> = []
        var numerator: ArraySlice<UInt8> = []
        var denominator: ArraySlice<UInt8> = []
        var suffix: ArraySlice<UInt8> = []
    }

    /// Splits "<sign><digits>.<digits><suffix>", as upstream's parseQuantityString: leading
    /// zeros are dropped from the numerator, and the suffix is letters from
    /// "eEinumkKMGTP", an optional sign and digits.
    private static func scan(_ s: [UInt8]) throws(ParseError) -> Scanned {
        var result = Scanned()
        let end = s.count
        var pos = 0
        if s[0] == UInt8(ascii: "-") {
            result.positive = false
            pos = 1
        } else if s[0] == UInt8(ascii: "+") {
            pos = 1
        }
        while pos < end && s[pos] == UInt8(ascii: "0") { pos += 1 }
        if pos >= end {
            result.numerator = [48]
            result.value = [48]
            return result
        }
        let numeratorStart = pos
        while pos < end && isDigit(s[pos]) { pos += 1 }
        result.numerator = s[numeratorStart..<pos]
        if pos >= end {
            result.value = s[...]
            return result
        }
        if result.numerator.isEmpty { result.numerator = [48] }
        if s[pos] == UInt8(ascii: ".") {
            pos += 1
            let denominatorStart = pos
            while pos < end && isDigit(s[pos]) { pos += 1 }
            result.denominator = s[denominatorStart..<pos]
            if pos >= end {
                result.value = s[...]
                return result
            }
        }
        result.value = s[..<pos]
        let suffixStart = pos
        while pos < end && "eEinumkKMGTP".utf8.contains(s[pos]) { pos += 1 }
        if pos < end && (s[pos] == UInt8(ascii: "-") || s[pos] == UInt8(ascii: "+")) { pos += 1 }
        while pos < end && isDigit(s[pos]) { pos += 1 }
        if pos < end { throw .formatWrong }
        result.suffix = s[suffixStart...]
        return result
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    /// The suffix's base, exponent and format; nil for an unknown suffix.
    private static func interpret(_ suffix: ArraySlice<UInt8>) -> (base: Int, exponent: Int32, format: Format)? {
        switch String(decoding: suffix, as: UTF8.self) {
        case "": return (10, 0, .decimalSI)
        case "n": return (10, -9, .decimalSI)
        case "u": return (10, -6, .decimalSI)
        case "m": return (10, -3, .decimalSI)
        case "k": return (10, 3, .decimalSI)
        case "M": return (10, 6, .decimalSI)
        case "G": return (10, 9, .decimalSI)
        case "T": return (10, 12, .decimalSI)
        case "P": return (10, 15, .decimalSI)
        case "E": return (10, 18, .decimalSI)
        case "Ki": return (2, 10, .binarySI)
        case "Mi": return (2, 20, .binarySI)
        case "Gi": return (2, 30, .binarySI)
        case "Ti": return (2, 40, .binarySI)
        case "Pi": return (2, 50, .binarySI)
        case "Ei": return (2, 60, .binarySI)
        case let other:
            guard suffix.count > 1, suffix.first == UInt8(ascii: "e") || suffix.first == UInt8(ascii: "E"),
                  let exponent = Int64(String(other.dropFirst()))
            else { return nil }
            // Upstream reads the exponent as int64 and then truncates it to int32.
            return (10, Int32(truncatingIfNeeded: exponent), .decimalExponent)
        }
    }

    /// Quantity.UnmarshalJSON: a string or a bare number, surrounding whitespace ignored;
    /// `null` is zero.
    public init(json: JSON) throws(ParseError) {
        switch json {
        case .null:
            self = .zero
        case .string(let s):
            try self.init(parsing: Self.trimmingSpace(s))
        case .number(let n):
            try self.init(parsing: Self.trimmingSpace(n.text))
        default:
            throw .formatWrong
        }
    }

    private static func trimmingSpace(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    /// The canonical string as a JSON value (Quantity.MarshalJSON).
    public var json: JSON { .string(description) }

    // MARK: Value access

    public var isZero: Bool { magnitude.isZero }

    /// -1, 0 or 1.
    public var sign: Int { magnitude.isZero ? 0 : (negative ? -1 : 1) }

    /// Value(): rounded up, away from zero, to a whole number. Out-of-range values clamp to
    /// Int64's bounds (upstream overflows).
    public var value: Int64 { scaledValue(0) }

    /// MilliValue(): the value in thousandths, rounded up away from zero; clamps like `value`.
    public var milliValue: Int64 { scaledValue(-3) }

    /// ScaledValue(scale): the value in units of 10^scale, rounded up away from zero.
    public func scaledValue(_ scale: Int) -> Int64 {
        if magnitude.isZero { return 0 }
        var m = magnitude
        let shift = exponent - scale
        if shift >= 0 {
            if m.decimalDigitCount + shift > 20 { return negative ? .min : .max }
            m.multiplyByPowerOfTen(shift)
        } else if -shift > m.decimalDigitCount {
            m = Magnitude(1)
        } else if m.divideByPowerOfTen(-shift) {
            m.add(Magnitude(1))
        }
        guard let v = m.uint64Value else { return negative ? .min : .max }
        if negative {
            return v > UInt64(Int64.max) + 1 ? .min : Int64(truncatingIfNeeded: 0 &- v)
        }
        return v > UInt64(Int64.max) ? .max : Int64(v)
    }

    /// The exact value when it is a whole number that fits in Int64.
    public var int64Value: Int64? {
        guard exponent >= 0 else { return nil }
        if magnitude.isZero { return 0 }
        guard magnitude.decimalDigitCount + exponent <= 20 else { return nil }
        var m = magnitude
        m.multiplyByPowerOfTen(exponent)
        guard let v = m.uint64Value else { return nil }
        if negative { return v <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- v) : nil }
        return v <= UInt64(Int64.max) ? Int64(v) : nil
    }

    /// RoundUp(scale): rounds away from zero to a multiple of 10^scale; false if that lost
    /// precision.
    @discardableResult
    public mutating func roundUp(toScale scale: Int) -> Bool {
        guard exponent < scale, !magnitude.isZero else { return true }
        var m = magnitude
        let exact: Bool
        if scale - exponent > m.decimalDigitCount {
            m = Magnitude(1)
            exact = false
        } else {
            exact = !m.divideByPowerOfTen(scale - exponent)
            if !exact { m.add(Magnitude(1)) }
        }
        self = Quantity(negative: negative, magnitude: m, exponent: scale, format: format)
        return exact
    }

    // MARK: Arithmetic (exact; the format follows the right operand when self is zero)

    /// Quantity.Add.
    public mutating func add(_ other: Quantity) {
        let format = isZero ? other.format : self.format
        self = Self.sum(self, other, format: format)
    }

    /// Quantity.Sub.
    public mutating func subtract(_ other: Quantity) {
        let format = isZero ? other.format : self.format
        self = Self.sum(self, -other, format: format)
    }

    /// Quantity.Neg.
    public mutating func negate() {
        if !magnitude.isZero { negative.toggle() }
        cachedText = nil
    }

    public static func + (a: Quantity, b: Quantity) -> Quantity {
        var result = a
        result.add(b)
        return result
    }

    public static func - (a: Quantity, b: Quantity) -> Quantity {
        var result = a
        result.subtract(b)
        return result
    }

    public static func += (a: inout Quantity, b: Quantity) { a.add(b) }
    public static func -= (a: inout Quantity, b: Quantity) { a.subtract(b) }

    public static prefix func - (q: Quantity) -> Quantity {
        var result = q
        result.negate()
        return result
    }

    /// Exponents further apart than this are not aligned: the smaller operand is then below
    /// 10^-4096 of the larger and is dropped, instead of building a gigantic integer.
    private static let maxAlignment = 4096

    private static func sum(_ a: Quantity, _ b: Quantity, format: Format) -> Quantity {
        if b.magnitude.isZero { return Quantity(negative: a.negative, magnitude: a.magnitude, exponent: a.exponent, format: format) }
        if a.magnitude.isZero { return Quantity(negative: b.negative, magnitude: b.magnitude, exponent: b.exponent, format: format) }
        if abs(a.exponent - b.exponent) > maxAlignment {
            let larger = compareMagnitudes(a, b) >= 0 ? a : b
            return Quantity(negative: larger.negative, magnitude: larger.magnitude, exponent: larger.exponent, format: format)
        }
        let exponent = min(a.exponent, b.exponent)
        var x = a.magnitude
        x.multiplyByPowerOfTen(a.exponent - exponent)
        var y = b.magnitude
        y.multiplyByPowerOfTen(b.exponent - exponent)
        if a.negative == b.negative {
            x.add(y)
            return Quantity(negative: a.negative, magnitude: x, exponent: exponent, format: format)
        }
        if Magnitude.compare(x, y) >= 0 {
            x.subtract(y)
            return Quantity(negative: a.negative, magnitude: x, exponent: exponent, format: format)
        }
        y.subtract(x)
        return Quantity(negative: b.negative, magnitude: y, exponent: exponent, format: format)
    }

    // MARK: Comparison

    public static func == (a: Quantity, b: Quantity) -> Bool {
        a.negative == b.negative && a.exponent == b.exponent && a.magnitude == b.magnitude
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(negative)
        hasher.combine(exponent)
        hasher.combine(magnitude)
    }

    public static func < (a: Quantity, b: Quantity) -> Bool {
        compare(a, b) < 0
    }

    /// Quantity.Cmp: -1, 0 or 1.
    public static func compare(_ a: Quantity, _ b: Quantity) -> Int {
        if a.sign != b.sign { return a.sign < b.sign ? -1 : 1 }
        if a.sign == 0 { return 0 }
        let m = compareMagnitudes(a, b)
        return a.negative ? -m : m
    }

    /// Compares |a| and |b| by order of magnitude first, so far-apart exponents never need
    /// aligning.
    private static func compareMagnitudes(_ a: Quantity, _ b: Quantity) -> Int {
        let orderA = a.magnitude.decimalDigitCount + a.exponent
        let orderB = b.magnitude.decimalDigitCount + b.exponent
        if orderA != orderB { return orderA < orderB ? -1 : 1 }
        var x = a.magnitude
        var y = b.magnitude
        if a.exponent > b.exponent {
            x.multiplyByPowerOfTen(a.exponent - b.exponent)
        } else {
            y.multiplyByPowerOfTen(b.exponent - a.exponent)
        }
        return Magnitude.compare(x, y)
    }

    // MARK: Canonical form

    /// Quantity.String(): the remembered input if upstream would keep it, else the
    /// canonical form — the largest suffix (or exponent) of the quantity's format that
    /// leaves no fractional digits.
    public var description: String {
        cachedText ?? canonicalText
    }

    private static let decimalSuffixes: [Int: String] = [
        -9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E",
    ]
    private static let binarySuffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]

    private var canonicalText: String {
        if magnitude.isZero { return "0" }
        let sign = negative ? "-" : ""
        // BinarySI prints as DecimalSI below 1024 and for fractions, since rounding would
        // lose precision.
        if format == .binarySI, exponent >= 0, Self.compareMagnitudes(self, Self.binaryThreshold) >= 0,
           let binary = binaryDigits() {
            return sign + binary.mantissa + Self.binarySuffixes[binary.power]
        }
        var m = magnitude
        var e = exponent
        while e % 3 != 0 {
            m.multiply(by: 10)
            e -= 1
        }
        // Keep the exponent within int32, as upstream stores it.
        while e > Int(Int32.max) - 1 {
            m.multiply(by: 1000)
            e -= 3
        }
        let suffix: String
        if format == .decimalExponent {
            suffix = e == 0 ? "" : "e\(e)"
        } else {
            // Beyond "n".."E" upstream now falls back to the exponent form (it used to drop
            // the suffix and with it the magnitude).
            suffix = Self.decimalSuffixes[e] ?? "e\(e)"
        }
        return sign + m.decimalString + suffix
    }

    private static let binaryThreshold = Quantity(1024)

    /// The value as mantissa × 1024^power; nil when it has more factors of 1024 than the
    /// largest suffix (Ei), which upstream cannot print either — then it prints as decimal.
    private func binaryDigits() -> (mantissa: String, power: Int)? {
        // 10^70 already holds seven factors of 1024.
        if exponent >= 70 { return nil }
        var m = magnitude
        m.multiplyByPowerOfTen(exponent)
        var power = 0
        while m.remainder(dividingBy: 1024) == 0 {
            _ = m.divide(by: 1024)
            power += 1
            if power > 6 { return nil }
        }
        return (m.decimalString, power)
    }
}

/// An unsigned arbitrary-precision integer in 32-bit little-endian limbs: just the
/// operations exact decimal quantities need.
struct Magnitude: Hashable, Sendable {
    /// No high zero limbs; zero is empty.
    private(set) var limbs: [UInt32] = []

    private static let powersOfTen: [UInt32] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000]

    init() {}

    init(_ value: UInt64) {
        if value != 0 { limbs.append(UInt32(truncatingIfNeeded: value)) }
        if value >> 32 != 0 { limbs.append(UInt32(truncatingIfNeeded: value >> 32)) }
    }

    /// From ASCII digits (the caller has checked they are digits).
    init(decimalDigits: some Collection<UInt8>) {
        var chunk: UInt32 = 0
        var chunkLength = 0
        for digit in decimalDigits {
            chunk = chunk * 10 + UInt32(digit &- 48)
            chunkLength += 1
            if chunkLength == 9 {
                multiply(by: 1_000_000_000, adding: chunk)
                chunk = 0
                chunkLength = 0
            }
        }
        if chunkLength > 0 { multiply(by: Self.powersOfTen[chunkLength], adding: chunk) }
    }

    var isZero: Bool { limbs.isEmpty }

    var uint64Value: UInt64? {
        switch limbs.count {
        case 0: 0
        case 1: UInt64(limbs[0])
        case 2: UInt64(limbs[0]) | UInt64(limbs[1]) << 32
        default: nil
        }
    }

    private mutating func trim() {
        while limbs.last == 0 { limbs.removeLast() }
    }

    mutating func multiply(by factor: UInt32, adding addend: UInt32 = 0) {
        var carry = UInt64(addend)
        for i in limbs.indices {
            let product = UInt64(limbs[i]) * UInt64(factor) + carry
            limbs[i] = UInt32(truncatingIfNeeded: product)
            carry = product >> 32
        }
        if carry != 0 { limbs.append(UInt32(truncatingIfNeeded: carry)) }
        trim()
    }

    mutating func multiplyByPowerOfTen(_ n: Int) {
        guard !isZero else { return }
        var n = n
        while n >= 9 {
            multiply(by: 1_000_000_000)
            n -= 9
        }
        if n > 0 { multiply(by: Self.powersOfTen[n]) }
    }

    mutating func shiftLeft(_ bits: Int) {
        guard !isZero, bits > 0 else { return }
        let words = bits / 32
        let shift = UInt32(bits % 32)
        if shift > 0 {
            var carry: UInt32 = 0
            for i in limbs.indices {
                let limb = limbs[i]
                limbs[i] = limb << shift | carry
                carry = limb >> (32 - shift)
            }
            if carry != 0 { limbs.append(carry) }
        }
        limbs.insert(contentsOf: repeatElement(0, count: words), at: 0)
    }

    /// Divides in place, returning the remainder.
    mutating func divide(by divisor: UInt32) -> UInt32 {
        var remainder: UInt64 = 0
        for i in limbs.indices.reversed() {
            let current = remainder << 32 | UInt64(limbs[i])
            limbs[i] = UInt32(truncatingIfNeeded: current / UInt64(divisor))
            remainder = current % UInt64(divisor)
        }
        trim()
        return UInt32(truncatingIfNeeded: remainder)
    }

    func remainder(dividingBy divisor: UInt32) -> UInt32 {
        var remainder: UInt64 = 0
        for limb in limbs.reversed() {
            remainder = (remainder << 32 | UInt64(limb)) % UInt64(divisor)
        }
        return UInt32(truncatingIfNeeded: remainder)
    }

    /// Truncating division by 10^n; returns whether a non-zero remainder was dropped.
    mutating func divideByPowerOfTen(_ n: Int) -> Bool {
        var n = n
        var inexact = false
        while n > 0 && !isZero {
            let step = min(n, 9)
            if divide(by: Self.powersOfTen[step]) != 0 { inexact = true }
            n -= step
        }
        return inexact
    }

    static func compare(_ a: Magnitude, _ b: Magnitude) -> Int {
        if a.limbs.count != b.limbs.count { return a.limbs.count < b.limbs.count ? -1 : 1 }
        for i in a.limbs.indices.reversed() where a.limbs[i] != b.limbs[i] {
            return a.limbs[i] < b.limbs[i] ? -1 : 1
        }
        return 0
    }

    mutating func add(_ other: Magnitude) {
        if other.limbs.count > limbs.count {
            limbs.append(contentsOf: repeatElement(0, count: other.limbs.count - limbs.count))
        }
        var carry: UInt64 = 0
        for i in limbs.indices {
            let sum = UInt64(limbs[i]) + (i < other.limbs.count ? UInt64(other.limbs[i]) : 0) + carry
            limbs[i] = UInt32(truncatingIfNeeded: sum)
            carry = sum >> 32
            if carry == 0 && i >= other.limbs.count { break }
        }
        if carry != 0 { limbs.append(UInt32(truncatingIfNeeded: carry)) }
    }

    /// Subtracts a magnitude no larger than self.
    mutating func subtract(_ other: Magnitude) {
        var borrow: Int64 = 0
        for i in limbs.indices {
            var difference = Int64(limbs[i]) - (i < other.limbs.count ? Int64(other.limbs[i]) : 0) - borrow
            if difference < 0 {
                difference += 1 << 32
                borrow = 1
            } else {
                borrow = 0
            }
            limbs[i] = UInt32(truncatingIfNeeded: difference)
            if borrow == 0 && i >= other.limbs.count { break }
        }
        trim()
    }

    var decimalString: String {
        if let v = uint64Value { return String(v) }
        var rest = self
        var chunks: [UInt32] = []
        while !rest.isZero { chunks.append(rest.divide(by: 1_000_000_000)) }
        var text = String(chunks.removeLast())
        for chunk in chunks.reversed() {
            let digits = String(chunk)
            text += String(repeating: "0", count: 9 - digits.count) + digits
        }
        return text
    }

    /// Number of decimal digits (1 for zero).
    var decimalDigitCount: Int {
        if let v = uint64Value {
            var count = 1
            var rest = v / 10
            while rest > 0 {
                count += 1
                rest /= 10
            }
            return count
        }
        return decimalString.utf8.count
    }
}
