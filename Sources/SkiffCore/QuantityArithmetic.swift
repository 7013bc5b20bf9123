// Quantity arithmetic: exact, and the format follows the right operand when self is zero.

extension Quantity {
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
}
