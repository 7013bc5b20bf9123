import Testing
@testable import SkiffCore

private func q(_ s: String) throws -> Quantity { try Quantity(parsing: s) }

struct QuantityParseTests {
    /// Parsed input and the string upstream serializes it as. The input text is kept when
    /// upstream's fast path judged it canonical, which includes some surprising forms.
    @Test(arguments: [
        // Zero in every notation.
        ("0", "0"), ("0n", "0"), ("0u", "0"), ("0m", "0"), ("0Ki", "0"), ("0k", "0"), ("0Mi", "0"),
        ("0M", "0"), ("0Gi", "0"), ("0G", "0"), ("0Ti", "0"), ("0T", "0"), ("00", "0"), ("-0", "0"),
        ("0.0", "0"), ("0.0Ki", "0"), (".", "0"), ("-.", "0"), ("e3", "0"),
        // Plain numbers and binary suffixes.
        ("1", "1"), ("9", "9"), ("1024", "1024"), ("1000", "1k"), ("-1", "-1"),
        ("1Ki", "1Ki"), ("8Ki", "8Ki"), ("7Mi", "7Mi"), ("6Gi", "6Gi"), ("5Ti", "5Ti"), ("4Pi", "4Pi"),
        ("3Ei", "3Ei"), ("10Ti", "10Ti"), ("100Ti", "100Ti"), ("1023Ki", "1023Ki"), ("1024Ki", "1Mi"),
        ("2048Ki", "2Mi"), ("1024Mi", "1Gi"), ("1536Mi", "1536Mi"), ("-1Ki", "-1Ki"), ("-1024Mi", "-1Gi"),
        // Decimal suffixes.
        ("5n", "5n"), ("4u", "4u"), ("3m", "3m"), ("100m", "100m"), ("1000m", "1"), ("8k", "8k"),
        ("50k", "50k"), ("7M", "7M"), ("6G", "6G"), ("5T", "5T"), ("40T", "40T"), ("300T", "300T"),
        ("2P", "2P"), ("1E", "1E"), ("12E", "12E"), ("10E", "10E"), ("1000M", "1G"),
        // Decimal exponents.
        ("1E-3", "1E-3"), ("1e3", "1e3"), ("1E6", "1E6"), ("1e9", "1e9"), ("1E12", "1E12"), ("1e15", "1e15"),
        ("1E18", "1E18"), ("1e14", "100e12"), ("1e13", "10e12"), ("1e1", "10"), ("10e3", "10e3"),
        ("1E+3", "1E+3"), ("1e-1", "100e-3"),
        // Fractions become whole numbers of a smaller unit.
        ("0.5", "500m"), ("1.5", "1500m"), ("0.001", "1m"), ("0.0005k", "500m"), ("0.005", "5m"),
        ("0.05", "50m"), ("0.00050k", "500m"), ("0.00500", "5m"), ("0.05000", "50m"), ("0.50000", "500m"),
        ("0.5e0", "500e-3"), ("0.5e-1", "50e-3"), ("0.5e-2", "5e-3"), ("1.2e3", "1200"), ("1.3E+6", "1300e3"),
        ("1.40e9", "1400e6"), ("1.53E12", "1530e9"), ("1.6e15", "1600e12"), ("1.7E18", "1700e15"),
        ("9.01", "9010m"), ("8.1k", "8100"), ("40.1T", "40100G"), ("300.2T", "300200G"), ("2.5P", "2500T"),
        ("1.01E", "1010P"), ("0.1m", "100u"), (".001", "1m"), (".0001k", "100m"), ("1.0E", "1E"),
        // Kept verbatim: upstream re-emits input that parsed exactly with a multiple-of-3 scale.
        ("100.035k", "100.035k"), ("10.035M", "10.035M"), ("7.123456M", "7.123456M"),
        ("6.987654321G", "6.987654321G"), ("5.444T", "5.444T"), ("1.500k", "1.500k"), ("+1", "+1"),
        ("01", "01"), ("1.", "1."), ("1.G", "1.G"),
        // Below a nanounit everything rounds up, away from zero.
        ("3.001n", "4n"), ("1.1E-9", "2e-9"), ("0.0000000001", "1n"), ("0.0000000005", "1n"),
        ("0.00000000050", "1n"), ("0.5e-9", "1e-9"), ("0.9n", "1n"), ("0.00000012345", "124n"),
        ("0.00000012354", "124n"), ("-0.9n", "-1n"), ("1e-20", "1e-9"),
        // Binary fractions fall back to decimal SI unless they land on whole bytes.
        ("100.035Ki", "102435840m"), ("0.5Mi", "512Ki"), ("0.05Gi", "53687091200m"),
        ("0.025Ti", "27487790694400m"), ("1.5Gi", "1536Mi"), ("-1.5Gi", "-1536Mi"), (".001Ki", "1024m"),
        (".000001Ki", "1024u"), (".000000001Ki", "1024n"), (".000000000001Ki", "2n"), ("0.000000000001Ki", "2n"),
        // Binary SI is capped at 2^63-1.
        ("9Ei", "9223372036854775807"), ("8Ei", "9223372036854775807"), ("9223372036854775807Ki", "9223372036854775807"),
        ("-9Ei", "-9223372036854775807"),
        // Beyond int64 the value stays exact.
        ("999999999999999999", "999999999999999999"), ("999999999999999999.1", "999999999999999999100m"),
        ("-999999999999999999.1", "-999999999999999999100m"), ("9999999999999999999", "9999999999999999999"),
        ("1000000000000000000", "1E"), ("-1000000000000000000", "-1E"), ("1.0000000000000000001E", "1000000000000000000100m"),
        ("1.000000000000000001E", "1000000000000000001"), ("10000000000000000000", "10E"),
        ("10000000000000000000000m", "10E"), ("9999999999999999999000m", "9999999999999999999"),
        ("9223372036854775807", "9223372036854775807"), ("-9223372036854775808", "-9223372036854775808"),
        ("9223372036854775808", "9223372036854775808"), ("9223372036854775807.1", "9223372036854775807100m"),
        // Past "E" the exponent form is used rather than dropping the magnitude.
        ("1000E", "1e21"), ("1e21", "1e21"), ("1000000000000000000000", "1e21"), ("5000E", "5e21"),
        ("1e2147483647", "10e2147483646"), ("1000e2147483647", "10000e2147483646"),
    ])
    func canonical(_ input: String, _ expected: String) throws {
        let quantity = try q(input)
        #expect(quantity.description == expected)
        #expect(quantity.json == .string(expected))
        // Serializing is stable: the output parses back to the same value and text.
        let reparsed = try q(expected)
        #expect(reparsed == quantity)
        #expect(reparsed.description == expected)
    }

    @Test(arguments: [
        ("", Quantity.ParseError.formatWrong),
        ("1.1.M", .formatWrong), ("1+1.0M", .formatWrong), ("0.1am", .formatWrong), ("aoeu", .formatWrong),
        (" 1", .formatWrong), ("1 ", .formatWrong), ("1Gi ", .formatWrong), ("1.5.5", .formatWrong),
        ("abc", .formatWrong), ("0x10", .formatWrong), ("1_000", .formatWrong), ("1e3.5", .formatWrong),
        ("0.1mi", .suffix), (".5i", .suffix), ("1i", .suffix), ("-3.01i", .suffix), ("-3.01e-", .suffix),
        ("1e", .suffix), ("1ki", .suffix), ("1Ki1", .suffix), ("1KiB", .formatWrong), ("1e+", .suffix),
        ("1e99999999999999999999", .suffix), ("--1", .suffix), ("1-", .suffix), ("1mm", .suffix), ("1EE", .suffix),
        (".e-10", .numeric), ("-.e-10", .numeric),
    ])
    func rejected(_ input: String, _ error: Quantity.ParseError) {
        #expect(throws: error) { try q(input) }
    }

    @Test func errorMessages() {
        #expect(Quantity.ParseError.formatWrong.description == "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
        #expect(Quantity.ParseError.numeric.description == "unable to parse numeric part of quantity")
        #expect(Quantity.ParseError.suffix.description == "unable to parse quantity's suffix")
    }

    @Test(arguments: [
        ("0", Quantity.Format.decimalSI), ("1", .decimalSI), ("1Ki", .binarySI), ("0Ki", .binarySI),
        ("1e3", .decimalExponent), ("1E", .decimalSI), ("0.5Ki", .binarySI), ("0.5Ki", .binarySI),
        (".001Ki", .binarySI), (".000001Ki", .decimalSI), ("9Ei", .binarySI),
    ])
    func rememberedFormat(_ input: String, _ format: Quantity.Format) throws {
        #expect(try q(input).format == format)
    }

    @Test(arguments: [
        (JSON.string("500m"), "500m"),
        (.string(" 1 "), "1"),
        (.string("\t2Gi\n"), "2Gi"),
        (.number(JSONNumber(literal: "1.5")), "1500m"),
        (.number(JSONNumber(literal: "1e3")), "1e3"),
        (.number(JSONNumber(literal: "-1")), "-1"),
        (.number(JSONNumber(literal: "10")), "10"),
        (.null, "0"),
    ])
    func fromJSON(_ json: JSON, _ expected: String) throws {
        #expect(try Quantity(json: json).description == expected)
    }

    @Test(arguments: [JSON.bool(true), .string(""), .string("1 Gi"), .array([]), .object(JSONObject())])
    func rejectedJSON(_ json: JSON) {
        #expect(throws: Quantity.ParseError.self) { try Quantity(json: json) }
    }
}

struct QuantityConstructionTests {
    @Test(arguments: [
        (Int64(1), Quantity.Format.decimalSI, "1"), (1000, .decimalSI, "1k"), (1234000, .decimalSI, "1234k"),
        (1024, .binarySI, "1Ki"), (1000000, .decimalExponent, "1e6"), (1024 * 1024, .binarySI, "1Mi"),
        (5, .binarySI, "5"), (1025, .binarySI, "1025"), (0, .binarySI, "0"), (-1024, .binarySI, "-1Ki"),
        (1023, .binarySI, "1023"), (3 * 1024 * 1024 * 1024, .binarySI, "3Gi"),
        (Int64.min, .decimalSI, "-9223372036854775808"), (Int64.max, .binarySI, "9223372036854775807"),
    ])
    func units(_ value: Int64, _ format: Quantity.Format, _ expected: String) {
        #expect(Quantity(value, format: format).description == expected)
    }

    @Test(arguments: [
        (Int64(1), Quantity.Format.decimalSI, "1m"), (1000, .decimalSI, "1"), (1234000, .decimalSI, "1234"),
        (1024, .binarySI, "1024m"), (1024 * 1024, .binarySI, "1048576m"), (1500, .decimalExponent, "1500e-3"),
    ])
    func milli(_ value: Int64, _ format: Quantity.Format, _ expected: String) {
        #expect(Quantity(milli: value, format: format).description == expected)
        #expect(Quantity(milli: value, format: format).milliValue == value)
    }

    @Test(arguments: [
        (Int64(1), -9, "1n"), (1000, -9, "1u"), (1, -6, "1u"), (1000, -6, "1m"), (1, -3, "1m"), (1000, -3, "1"),
        (1, 0, "1"), (0, -9, "0"), (0, -6, "0"), (0, -3, "0"), (0, 0, "0"), (1, -12, "1e-12"), (1, -10, "100e-12"),
        (1, 21, "1e21"), (1000, 18, "1e21"), (15, 2, "1500"),
    ])
    func scaled(_ value: Int64, _ scale: Int, _ expected: String) {
        #expect(Quantity(value, scale: scale).description == expected)
    }

    @Test(arguments: [
        (-9, -9, Int64(1)), (-9, -6, 1), (-9, -3, 1), (-9, 0, 1), (-6, -9, 1000), (-6, -6, 1), (-6, -3, 1),
        (-6, 0, 1), (-3, -9, 1_000_000), (-3, -6, 1000), (-3, -3, 1), (-3, 0, 1), (0, -9, 1_000_000_000),
        (0, -6, 1_000_000), (0, -3, 1000), (0, 0, 1), (2, -2, 10_000),
    ])
    func scaledValue(_ from: Int, _ to: Int, _ expected: Int64) {
        #expect(Quantity(1, scale: from).scaledValue(to) == expected)
    }

    @Test func formatChangeDropsKeptText() throws {
        var quantity = try q("1Ki")
        quantity.format = .decimalSI
        #expect(quantity.description == "1024")
        var plus = try q("+1")
        plus.format = .decimalSI
        #expect(plus.description == "1")
    }
}

struct QuantityValueTests {
    /// Value() and MilliValue() round up, away from zero; out-of-range values clamp.
    @Test(arguments: [
        ("0", Int64(0), Int64(0)), ("1", 1, 1000), ("1.1", 2, 1100), ("0.5", 1, 500), ("1m", 1, 1), ("1n", 1, 1),
        ("1500u", 1, 2), ("-1.5", -2, -1500), ("-1m", -1, -1), ("-1n", -1, -1), ("1Gi", 1_073_741_824, 1_073_741_824_000),
        ("100.035k", 100_035, 100_035_000), ("1E", 1_000_000_000_000_000_000, .max), ("1e100", .max, .max),
        ("-1e100", .min, .min), ("9223372036854775807", .max, .max), ("-9223372036854775808", .min, .min),
        ("9223372036854775808", .max, .max), ("9223372036854775807m", 9_223_372_036_854_776, 9_223_372_036_854_775_807),
        ("1e-20", 1, 1),
    ])
    func values(_ input: String, _ value: Int64, _ milli: Int64) throws {
        let quantity = try q(input)
        #expect(quantity.value == value)
        #expect(quantity.milliValue == milli)
    }

    @Test(arguments: [
        ("1k", Int64(1000)), ("1.5", nil), ("1E", 1_000_000_000_000_000_000), ("10E", nil), ("-9223372036854775808", .min),
        ("1Gi", 1_073_741_824), ("0", 0), ("500m", nil),
    ] as [(String, Int64?)])
    func exactInteger(_ input: String, _ expected: Int64?) throws {
        #expect(try q(input).int64Value == expected)
    }

    @Test(arguments: [
        ("9.01", -3, "9010m", true), ("9.01", -2, "9010m", true), ("9.01", -1, "9100m", false),
        ("9.01", 0, "10", false), ("9.01", 1, "10", false), ("9.01", 2, "100", false),
        ("-9.01", -3, "-9010m", true), ("-9.01", -2, "-9010m", true), ("-9.01", -1, "-9100m", false),
        ("-9.01", 0, "-10", false), ("-9.01", 1, "-10", false), ("-9.01", 2, "-100", false),
        ("1n", 0, "1", false), ("5", 0, "5", true),
    ])
    func roundUp(_ input: String, _ scale: Int, _ expected: String, _ exact: Bool) throws {
        var quantity = try q(input)
        #expect(quantity.roundUp(toScale: scale) == exact)
        #expect(quantity.description == expected)
    }

    @Test(arguments: [
        ("0", "0", 0), ("100m", "50m", 1), ("50m", "100m", -1), ("10000T", "100Gi", 1), ("1Ki", "1024", 0),
        ("-1", "1", -1), ("1e-3", "1m", 0), ("1e100", "1E", 1), ("-1e100", "-1", -1), ("1n", "0", 1),
        ("-1n", "0", -1), ("0.5", "500m", 0), ("1.5Gi", "1536Mi", 0), ("1e2147483647", "1e2147483646", 1),
        ("999m", "1", -1), ("-999m", "-1", 1), ("9223372036854775808", "9223372036854775807", 1),
        ("1.000000001", "1", 1), ("0", "-0", 0),
    ])
    func ordering(_ a: String, _ b: String, _ expected: Int) throws {
        let x = try q(a), y = try q(b)
        #expect(Quantity.compare(x, y) == expected)
        #expect(Quantity.compare(y, x) == -expected)
        #expect((x < y) == (expected < 0))
        #expect((x == y) == (expected == 0))
    }

    @Test func equalValuesHashAlike() throws {
        let set: Set<Quantity> = [try q("1Ki"), try q("1024"), try q("1.024k"), try q("1024000m"), Quantity(1024, format: .binarySI)]
        #expect(set.count == 1)
        #expect(try q("0") == Quantity.zero)
    }
}

struct QuantityArithmeticTests {
    /// Add and Sub: exact, and a zero left operand takes the right operand's format.
    @Test(arguments: [
        ("1", "1", "2", "0"),
        ("100m", "900m", "1", "-800m"),
        ("1Gi", "512Mi", "1536Mi", "512Mi"),
        ("0", "1Ki", "1Ki", "-1Ki"),
        ("1", "1Ki", "1025", "-1023"),
        ("1Ki", "1", "1025", "1023"),
        ("10", "1e1", "20", "0"),
        ("1E", "1E", "2E", "0"),
        ("9223372036854775807", "1", "9223372036854775808", "9223372036854775806"),
        ("1.5", "0.5", "2", "1"),
        ("1n", "1", "1000000001n", "-999999999n"),
        ("1e3", "1", "1001", "999"),
        ("1Ki", "0", "1Ki", "1Ki"),
        ("-1", "-2", "-3", "1"),
        ("-5", "3", "-2", "-8"),
        ("8Ei", "8Ei", "18446744073709551614", "0"),
    ])
    func addAndSubtract(_ a: String, _ b: String, _ sum: String, _ difference: String) throws {
        #expect((try q(a) + q(b)).description == sum)
        #expect((try q(a) - q(b)).description == difference)
        var x = try q(a)
        x += try q(b)
        x -= try q(b)
        #expect(x == (try q(a)))
    }

    @Test func negation() throws {
        let fraction = try q("9.01"), binary = try q("1Ki"), negative = try q("-1")
        #expect((-fraction).description == "-9010m")
        #expect((-binary).description == "-1Ki")
        #expect((-negative).description == "1")
        #expect((-Quantity.zero).description == "0")
        var x = try q("+1")
        x.negate()
        x.negate()
        #expect(x.description == "1")
    }

    /// Many adds then the same subtracts cancel exactly, across scales (upstream's
    /// round-trip tests, with a fixed sequence instead of random numbers).
    @Test(arguments: Array(-10...10))
    func addSubtractRoundTrip(_ scale: Int) {
        var generator: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(bitPattern: Int64(scale))
        var values: [(Int64, Int)] = []
        var total = Quantity.zero
        for _ in 0..<100 {
            generator = generator &* 6364136223846793005 &+ 1442695040888963407
            let value = Int64(bitPattern: generator >> 1)
            let valueScale = scale == 0 ? Int(value % 20) - 10 : scale
            values.append((value, valueScale))
            total += Quantity(value, scale: valueScale)
        }
        for (value, valueScale) in values {
            total -= Quantity(value, scale: valueScale)
        }
        #expect(total.isZero)
        #expect(total.description == "0")
    }

    @Test func farApartExponentsStayOrdered() throws {
        let big = try q("1e100")
        let sum = try big + q("1")
        #expect(sum > big)
        #expect(sum - big == (try q("1")))
        #expect((try q("1e5000") + q("1")) == (try q("1e5000")))
    }
}
