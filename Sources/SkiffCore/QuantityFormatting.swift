// The canonical string form of a quantity (Quantity.String and MarshalJSON).

extension Quantity {
    /// Quantity.String(): the remembered input if upstream would keep it, else the
    /// canonical form — the largest suffix (or exponent) of the quantity's format that
    /// leaves no fractional digits.
    public var description: String {
        cachedText ?? canonicalText
    }

    /// The canonical string as a JSON value (Quantity.MarshalJSON).
    public var json: JSON { .string(description) }

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
