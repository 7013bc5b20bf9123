import SkiffCore
import Testing

@Suite struct IPv4CIDRTests {
    @Test func parsesAndCarvesSubnets() throws {
        let cluster = try #require(IPv4CIDR("10.42.7.9/16"))
        #expect(cluster.description == "10.42.0.0/16")
        #expect(cluster.size == 65536)
        #expect(cluster.subnet(0, prefixLength: 24)?.description == "10.42.0.0/24")
        #expect(cluster.subnet(255, prefixLength: 24)?.description == "10.42.255.0/24")
        #expect(cluster.subnet(256, prefixLength: 24) == nil)
        #expect(cluster.subnet(0, prefixLength: 8) == nil)
        #expect(cluster.contains(IPv4CIDR.parse("10.42.255.255") ?? 0))
        #expect(!cluster.contains(IPv4CIDR.parse("10.43.0.0") ?? 0))
        #expect(IPv4CIDR("0.0.0.0/0")?.size == 1 << 32)
        for bad in ["10.42.0.0", "10.42.0/16", "10.42.0.256/16", "10.42.0.0/33", "a.b.c.d/8", "10..0.0/8"] {
            #expect(IPv4CIDR(bad) == nil, "\(bad)")
        }
    }
}
