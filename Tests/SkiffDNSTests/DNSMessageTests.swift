import Testing

@testable import SkiffDNS

/// Header for a message with one question and nothing else.
private let header: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]

@Suite struct DNSMessageTests {
    func name(_ s: String) -> DNSName {
        guard let n = DNSName(s) else { fatalError("bad test name \(s)") }
        return n
    }

    @Test func roundTripsEveryRecordType() throws {
        var m = DNSMessage()
        m.id = 0xBEEF
        m.isResponse = true
        m.authoritative = true
        m.recursionDesired = true
        m.rcode = .nxDomain
        m.questions = [DNSQuestion(name: name("Web.Default.svc.cluster.local"), type: .srv)]
        let owner = name("web.default.svc.cluster.local")
        m.answers = [
            ResourceRecord(name: owner, type: .a, ttl: 30, data: .address([10, 43, 0, 1])),
            ResourceRecord(name: owner, type: .aaaa, ttl: 30, data: .address(Array(repeating: 0xfd, count: 16))),
            ResourceRecord(name: owner, type: .cname, ttl: 30, data: .name(name("example.com"))),
            ResourceRecord(name: owner, type: .srv, ttl: 30, data: .srv(priority: 0, weight: 33, port: 8080, target: owner)),
            ResourceRecord(name: owner, type: .ptr, ttl: 30, data: .name(owner)),
            ResourceRecord(name: owner, type: .mx, ttl: 30, data: .mx(preference: 10, exchange: name("mail.example.com"))),
            ResourceRecord(name: owner, type: .txt, ttl: 30, data: .txt([Array("1.1.0".utf8), []])),
            ResourceRecord(name: owner, type: DNSType(rawValue: 65), ttl: 30, data: .raw([1, 2, 3])),
        ]
        m.authority = [ResourceRecord(name: name("cluster.local"), type: .soa, ttl: 30, data: .soa(SOAData(
            mname: name("ns.dns.cluster.local"), rname: name("hostmaster.cluster.local"), serial: 7, refresh: 7200,
            retry: 1800, expire: 86400, minimum: 30)))]
        m.additional = [ResourceRecord(name: name("ns.dns.cluster.local"), type: .ns, ttl: 5, data: .name(name("cluster.local")))]
        m.edns = EDNS(udpPayloadSize: 1232, dnssecOK: true)
        m.rcode = .badVers  // extended: needs the OPT record's high bits

        let bytes = m.encoded()
        #expect(try DNSMessage(parsing: bytes) == m)
        // Eight answers own the same name, but it is written out once; the rest are pointers.
        let full = owner.wire.dropLast()
        let copies = (0...(bytes.count - full.count)).filter { bytes[$0..<($0 + full.count)].elementsEqual(full) }
        #expect(copies.count == 1)
    }

    @Test func parsesAQueryAsDigSendsIt() throws {
        // dig +edns example.com A: RD, one question, OPT with 1232 bytes.
        let bytes: [UInt8] = [0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1,
                              7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 1, 0, 1,
                              0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]
        let m = try DNSMessage(parsing: bytes)
        #expect(m.id == 0x1234 && m.recursionDesired && m.authenticData && !m.isResponse)
        #expect(m.questions == [DNSQuestion(name: name("example.com"), type: .a)])
        #expect(m.edns == EDNS(udpPayloadSize: 1232))
        #expect(m.udpSizeLimit == 1232)
        #expect(m.encoded() == bytes)
    }

    @Test func namesKeepCaseAndEscapeOddBytes() {
        let n = name("Foo.Example.")
        #expect(n.description == "Foo.Example.")
        #expect(n.lowercasedText == "foo.example")
        #expect(n.lowercased() == name("foo.example"))
        #expect(DNSName(wire: [3, 0x61, 0x2E, 0x00, 0]).lowercasedText == "a\\046\\000")
        #expect(DNSName.root.lowercasedText == "")
        #expect(DNSName(String(repeating: "a", count: 64)) == nil)
        #expect(DNSName("a..b") == nil)
    }

    @Test(arguments: [
        ("empty", []),
        ("short header", [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0]),
        ("question missing", header),
        ("label runs past the end", header + [5, 0x61, 0x62]),
        ("type missing", header + [1, 0x61, 0]),
        ("pointer to itself", header + [0xC0, 12, 0, 1, 0, 1]),
        ("pointer forwards", header + [0xC0, 14, 1, 0x61, 0, 0, 1, 0, 1]),
        ("pointers to each other", header + [1, 0x61, 0xC0, 16, 1, 0x62, 0xC0, 12, 0, 1, 0, 1]),
        ("pointer truncated", header + [0xC0]),
        ("extended label type", header + [0x41, 0, 0, 1, 0, 1]),
        ("name over 255 bytes", header + Array(repeating: [63] + Array(repeating: 0x61, count: 63), count: 5).flatMap { $0 } + [0, 0, 1, 0, 1]),
        ("answer data past the end", [0, 1, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 30, 0, 9, 1, 2]),
        ("A record of 5 bytes", [0, 1, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 30, 0, 5, 1, 2, 3, 4, 5]),
        ("CNAME longer than its data", [0, 1, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 0, 0, 30, 0, 1, 1, 0x61, 0]),
        ("trailing garbage", header + [0, 0, 1, 0, 1, 0xFF]),
        ("two OPT records", [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2] + [0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0]),
        ("OPT not at the root", [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] + [1, 0x61, 0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0]),
        ("huge counts", [0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
    ] as [(String, [UInt8])])
    func rejectsMalformedInput(_ label: String, _ bytes: [UInt8]) {
        #expect(throws: DNSWireError.self, "\(label)") { try DNSMessage(parsing: bytes) }
    }

    @Test func acceptsAPointerToAnEarlierName() throws {
        // Question "a.b", answer owner "c" + pointer to "b" inside the question.
        let bytes: [UInt8] = [0, 1, 0x80, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0x61, 1, 0x62, 0, 0, 1, 0, 1,
                              1, 0x63, 0xC0, 14, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, 1]
        let m = try DNSMessage(parsing: bytes)
        #expect(m.answers.first?.name == name("c.b"))
        #expect(m.answers.first?.data == .address([10, 0, 0, 1]))
    }

    @Test func survivesRandomAndMutatedInput() {
        var rng = SystemRandomNumberGenerator()
        var valid = DNSMessage()
        valid.questions = [DNSQuestion(name: name("a.b.example.com"), type: .a)]
        valid.answers = [ResourceRecord(name: name("a.b.example.com"), type: .cname, ttl: 1, data: .name(name("c.example.com")))]
        valid.authority = [ResourceRecord(name: name("example.com"), type: .soa, ttl: 1, data: .soa(SOAData(
            mname: name("ns.example.com"), rname: name("h.example.com"), serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5)))]
        let base = valid.encoded()
        for _ in 0..<20_000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &rng)) }
            _ = try? DNSMessage(parsing: bytes)  // only not crashing matters here
            _ = try? DNSMessage(parsing: (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
    }
}
