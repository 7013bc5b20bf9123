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
    // magnitude; zero is +0 × 10^0) so equal values have equal representations. Readable by
    // the parsing, arithmetic and formatting files; only this file changes them in place.
    private(set) var negative: Bool
    private(set) var magnitude: Magnitude
    private(set) var exponent: Int

    /// Changing the format drops the remembered input text.
    public var format: Format {
        didSet { cachedText = nil }
    }

    /// Upstream re-emits the input verbatim when it parsed on its fast path and already
    /// looked canonical (quirks included: "+1" stays "+1", "100.035k" stays as written).
    private(set) var cachedText: String?

    /// The one way to a value: normalizes the representation.
    init(negative: Bool, magnitude: Magnitude, exponent: Int, format: Format, cachedText: String? = nil) {
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

    /// Quantity.Neg. It lives here, not with the other arithmetic, because it flips the
    /// stored sign in place.
    public mutating func negate() {
        if !magnitude.isZero { negative.toggle() }
        cachedText = nil
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
    static func compareMagnitudes(_ a: Quantity, _ b: Quantity) -> Int {
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
}
