/// An IPv4 network such as 10.42.0.0/16: for the service range, the cluster range and
/// the per-node pod ranges carved from it.
public struct IPv4CIDR: Sendable, Hashable, CustomStringConvertible {
    /// The network address (host bits zero).
    public let base: UInt32
    public let prefixLength: Int

    public init(base: UInt32, prefixLength: Int) {
        self.prefixLength = prefixLength
        self.base = prefixLength == 0 ? 0 : base & ~(UInt32.max >> UInt32(prefixLength))
    }

    /// "a.b.c.d/n"; nil for anything else.
    public init?(_ s: String) {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let ip = Self.parse(String(parts[0])), let n = Int(parts[1]), (0...32).contains(n) else { return nil }
        self.init(base: ip, prefixLength: n)
    }

    /// How many addresses the network spans.
    public var size: UInt64 { 1 << UInt64(32 - prefixLength) }

    public var description: String { "\(Self.format(base))/\(prefixLength)" }

    public func contains(_ ip: UInt32) -> Bool { UInt64(ip) >= UInt64(base) && UInt64(ip) < UInt64(base) + size }

    /// The `index`th subnet of `prefixLength` bits, or nil past the end.
    public func subnet(_ index: Int, prefixLength n: Int) -> IPv4CIDR? {
        guard n >= prefixLength, n <= 32, UInt64(index) < 1 << UInt64(n - prefixLength) else { return nil }
        return IPv4CIDR(base: base + UInt32(index) << UInt32(32 - n), prefixLength: n)
    }

    public static func format(_ ip: UInt32) -> String { "\(ip >> 24).\(ip >> 16 & 255).\(ip >> 8 & 255).\(ip & 255)" }

    public static func parse(_ s: String) -> UInt32? {
        let o = s.split(separator: ".", omittingEmptySubsequences: false).map { UInt32($0) }
        guard o.count == 4, o.allSatisfy({ ($0 ?? 256) < 256 }) else { return nil }
        return o.reduce(0) { $0 << 8 | ($1 ?? 0) }
    }
}
