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
