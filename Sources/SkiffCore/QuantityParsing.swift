// Reading quantities: ParseQuantity's text form and Quantity.UnmarshalJSON.

extension Quantity {
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
        result.numerator = digits(s, from: &pos)
        if pos >= end {
            result.value = s[...]
            return result
        }
        if result.numerator.isEmpty { result.numerator = [48] }
        if s[pos] == UInt8(ascii: ".") {
            pos += 1
            result.denominator = digits(s, from: &pos)
            if pos >= end {
                result.value = s[...]
                return result
            }
        }
        result.value = s[..<pos]
        let suffixStart = pos
        while pos < end && "eEinumkKMGTP".utf8.contains(s[pos]) { pos += 1 }
        if pos < end && (s[pos] == UInt8(ascii: "-") || s[pos] == UInt8(ascii: "+")) { pos += 1 }
        _ = digits(s, from: &pos)
        if pos < end { throw .formatWrong }
        result.suffix = s[suffixStart...]
        return result
    }

    /// The run of ASCII digits at `pos`, which moves past it.
    private static func digits(_ s: [UInt8], from pos: inout Int) -> ArraySlice<UInt8> {
        let start = pos
        while pos < s.count && isDigit(s[pos]) { pos += 1 }
        return s[start..<pos]
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
}
