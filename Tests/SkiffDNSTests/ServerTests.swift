import SkiffCore
import Testing

@testable import SkiffDNS

/// The server on real sockets: 127.0.0.1, port 0, a fake upstream where forwarding matters.
@Suite struct ServerTests {
    func makeDNS(upstreams: [FakeUpstream] = [], timeout: Duration = .seconds(2)) -> ClusterDNS {
        let records = ClusterDNSRecords()
        records.apply(service: .added(serviceJSON("default", "web", clusterIP: "10.43.0.20")))
        records.apply(service: .added(serviceJSON("default", "ext", externalName: "example.com")))
        records.apply(service: .added(serviceJSON("default", "big", clusterIP: "None")))
        records.apply(endpointSlice: .added(sliceJSON("default", "big-1", service: "big", (1...60).map { TestEndpoint("10.42.2.\($0)") })))
        var config = ClusterDNSConfig()
        config.upstreams = upstreams.map { DNSUpstream(host: "127.0.0.1", port: $0.port) }
        config.forwardTimeout = timeout
        return ClusterDNS(config: config, records: records)
    }

    func udp(_ port: Int, _ name: String, _ type: DNSType = .a, id: UInt16 = 7, edns: EDNS? = nil) async throws -> DNSMessage {
        try DNSMessage(parsing: try await udpExchange(port: port, queryBytes(name, type, id: id, edns: edns)))
    }

    static let exampleA = [93, 184, 216, 34] as [UInt8]

    /// Answers example.com with an A record and nx.example.com with NXDOMAIN.
    static func exampleUpstream() async throws -> FakeUpstream {
        try await FakeUpstream.start { q, _ in
            let name = q.questions[0].name
            switch name.lowercasedText {
            case "example.com":
                return reply(to: q, answers: [ResourceRecord(name: name, type: .a, ttl: 300, data: .address(exampleA))])
            case "nx.example.com":
                let soa = SOAData(mname: dnsName("ns.example.com"), rname: dnsName("h.example.com"), serial: 1, refresh: 1,
                                  retry: 1, expire: 1, minimum: 10)
                return reply(to: q, rcode: .nxDomain, authority: [ResourceRecord(name: dnsName("example.com"), type: .soa, ttl: 60, data: .soa(soa))])
            default:
                return reply(to: q, rcode: .servFail)
            }
        }
    }

    @Test func servesUDPAndTCP() async throws {
        try await withServer(makeDNS()) { port in
            let a = try await udp(port, "web.default.svc.cluster.local", id: 1)
            #expect(a.id == 1 && a.addresses == ["10.43.0.20"] && a.authoritative)

            let replies = try await tcpExchange(port: port, [
                queryBytes("web.default.svc.cluster.local", .a, id: 2), queryBytes("missing.default.svc.cluster.local", .a, id: 3),
            ]).map { try DNSMessage(parsing: $0) }
            #expect(replies.map(\.id).sorted() == [2, 3])
            #expect(replies.first { $0.id == 2 }?.addresses == ["10.43.0.20"])
            #expect(replies.first { $0.id == 3 }?.rcode == .nxDomain)

            let garbage = try DNSMessage(parsing: try await udpExchange(port: port, [0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x3F]))
            #expect(garbage.rcode == .formErr && garbage.id == 0x1234)
        }
    }

    @Test func truncatesOverUDPAndAnswersInFullOverTCP() async throws {
        try await withServer(makeDNS()) { port in
            let truncated = try await udp(port, "big.default.svc.cluster.local")
            #expect(truncated.truncated && truncated.answers.isEmpty)
            let large = try await udp(port, "big.default.svc.cluster.local", edns: EDNS(udpPayloadSize: 4096))
            #expect(!large.truncated && large.answers.count == 60 && large.edns?.udpPayloadSize == 4096)
            let tcp = try await tcpExchange(port: port, [queryBytes("big.default.svc.cluster.local", .a)])
            #expect(try DNSMessage(parsing: tcp[0]).answers.count == 60)
        }
    }

    @Test func forwardsAndCachesAnswersAndDenials() async throws {
        let upstream = try await Self.exampleUpstream()
        try await withServer(makeDNS(upstreams: [upstream])) { port in
            let first = try await udp(port, "Example.COM", id: 11)
            #expect(first.id == 11 && first.addresses == ["93.184.216.34"] && first.answers.first?.ttl == 300)
            let second = try await udp(port, "example.com", id: 12)
            #expect(second.id == 12 && second.addresses == ["93.184.216.34"])
            #expect((second.answers.first?.ttl ?? 0) <= 30)
            #expect(second.answers.first?.name.description == "example.com.")

            #expect(try await udp(port, "nx.example.com").rcode == .nxDomain)
            let denial = try await tcpExchange(port: port, [queryBytes("nx.example.com", .a)])
            #expect(try DNSMessage(parsing: denial[0]).rcode == .nxDomain)
            #expect(upstream.queries.map(\.name) == ["Example.COM.", "nx.example.com."])
        }
        try await upstream.close()
    }

    @Test func triesTheNextUpstreamWhenOneTimesOut() async throws {
        let silent = try await FakeUpstream.start { _, _ in nil }
        let good = try await Self.exampleUpstream()
        // Each upstream gets 1.5 s: the good one must answer within it even on a loaded machine
        // (the client waits 5 s).
        try await withServer(makeDNS(upstreams: [silent, good], timeout: .milliseconds(1500))) { port in
            let r = try await udp(port, "example.com")
            #expect(r.addresses == ["93.184.216.34"])
            #expect(silent.queries.count == 1 && good.queries.count == 1)
        }
        try await silent.close()
        try await good.close()
    }

    @Test func servfailWhenNoUpstreamAnswers() async throws {
        let silent = try await FakeUpstream.start { _, _ in nil }
        try await withServer(makeDNS(upstreams: [silent], timeout: .milliseconds(100))) { port in
            let r = try await udp(port, "example.com")
            #expect(r.rcode == .servFail)
        }
        try await silent.close()
    }

    @Test func retriesTruncatedUpstreamAnswersOverTCP() async throws {
        let upstream = try await FakeUpstream.start { q, overTCP in
            guard overTCP else { return reply(to: q, truncated: true) }
            return reply(to: q, answers: (1...3).map { ResourceRecord(name: q.questions[0].name, type: .a, ttl: 60, data: .address([192, 0, 2, $0])) })
        }
        try await withServer(makeDNS(upstreams: [upstream])) { port in
            let r = try await udp(port, "many.example.com")
            #expect(r.answers.count == 3)
            #expect(upstream.queries.map(\.overTCP) == [false, true])
        }
        try await upstream.close()
    }

    @Test func externalNameTargetsAreResolvedUpstream() async throws {
        let upstream = try await Self.exampleUpstream()
        try await withServer(makeDNS(upstreams: [upstream])) { port in
            let r = try await udp(port, "ext.default.svc.cluster.local")
            #expect(r.answers.map(\.type) == [.cname, .a])
            #expect(r.addresses == ["93.184.216.34"])
            #expect(upstream.queries.map(\.name) == ["example.com."])
        }
        try await upstream.close()
    }

    @Test func readsNameserversFromResolvConf() {
        let text = "# generated\nsearch example.com\nnameserver 10.255.255.53\nnameserver fe80::1%eth0\nnameserver bogus\noptions ndots:5\n"
        #expect(DNSUpstream.parseResolvConf(text) == [DNSUpstream(host: "10.255.255.53"), DNSUpstream(host: "fe80::1")])
    }
}
