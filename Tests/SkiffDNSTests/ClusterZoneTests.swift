import SkiffClient
import SkiffCore
import Testing

@testable import SkiffDNS

/// The cluster zone as CoreDNS' kubernetes plugin answers it, asked without sockets.
@Suite struct ClusterZoneTests {
    let records = ClusterDNSRecords()
    let dns: ClusterDNS

    init() {
        records.apply(service: .added(serviceJSON("default", "kubernetes", clusterIP: "10.43.0.1", ports: [("https", 443)])))
        records.apply(service: .added(serviceJSON("default", "web", clusterIP: "10.43.0.20", ports: [("http", 80), ("metrics", 9090)])))
        records.apply(endpointSlice: .added(sliceJSON("default", "web-xyz", service: "web", [TestEndpoint("10.42.1.9")])))
        records.apply(service: .added(serviceJSON("db", "pg", clusterIP: "None", ports: [("postgres", 5432)])))
        records.apply(endpointSlice: .added(sliceJSON("db", "pg-abc", service: "pg", [
            TestEndpoint("10.42.0.5", hostname: "pg-0"), TestEndpoint("10.42.0.6"),
            TestEndpoint("10.42.0.7", ready: false), TestEndpoint("10.42.0.8", ready: nil),
        ], ports: [("postgres", 5432)])))
        // The same address again in a second slice: answered once.
        records.apply(endpointSlice: .added(sliceJSON("db", "pg-def", service: "pg", [TestEndpoint("10.42.0.6")], ports: [("postgres", 5432)])))
        records.apply(service: .added(serviceJSON("default", "alias", externalName: "web.default.svc.cluster.local")))
        records.apply(service: .added(serviceJSON("default", "ext", externalName: "example.com")))
        records.apply(service: .added(serviceJSON("default", "dual", clusterIPs: ["10.43.0.30", "fd00:43::30"])))
        var config = ClusterDNSConfig()
        config.upstreams = []
        dns = ClusterDNS(config: config, records: records)
    }

    func ask(_ name: String, _ type: DNSType = .a) throws -> DNSMessage {
        try #require(try dns.ask(name, type), "\(name) was forwarded")
    }

    @Test func clusterIPServiceEchoesTheQuestionsCase() throws {
        let r = try ask("WEB.Default.svc.Cluster.Local")
        #expect(r.rcode == .noError && r.authoritative && r.isResponse && r.id == 7)
        #expect(r.addresses == ["10.43.0.20"])
        #expect(r.answers.first?.name.description == "WEB.Default.svc.Cluster.Local.")
        #expect(r.answers.first?.ttl == 30)
    }

    @Test func anExistingNamespaceWithoutServicesIsNODATA() throws {
        #expect(try ask("quiet.svc.cluster.local").rcode == .nxDomain)
        records.apply(namespace: .added(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "quiet"]]))
        let r = try ask("quiet.svc.cluster.local")
        #expect(r.rcode == .noError && r.answers.isEmpty && r.authority.count == 1)
        records.apply(namespace: .deleted(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "quiet"]]))
        #expect(try ask("quiet.svc.cluster.local").rcode == .nxDomain)
    }

    @Test func missingNamesAreNXDOMAINWithTheZoneSOA() throws {
        let r = try ask("missing.default.svc.cluster.local")
        #expect(r.rcode == .nxDomain && r.answers.isEmpty)
        let soa = try #require(r.authority.first)
        #expect(soa.name == dnsName("cluster.local") && soa.ttl == 30)
        guard case .soa(let data) = soa.data else { Issue.record("not an SOA"); return }
        #expect(data.mname == dnsName("ns.dns.cluster.local") && data.rname == dnsName("hostmaster.cluster.local"))
        #expect([data.refresh, data.retry, data.expire, data.minimum] == [7200, 1800, 86400, 30])
        #expect(data.serial == records.serial)
    }

    @Test(arguments: [
        ("web.default.svc.cluster.local", DNSType.aaaa, DNSRcode.noError),  // IPv4-only name: NODATA
        ("web.default.svc.cluster.local", .txt, .noError),
        ("web.default.svc.cluster.local", .mx, .noError),
        ("cluster.local", .a, .noError),
        ("svc.cluster.local", .a, .noError),
        ("pod.cluster.local", .a, .noError),
        ("default.svc.cluster.local", .a, .noError),
        ("db.pod.cluster.local", .a, .noError),
        ("nosuchns.svc.cluster.local", .a, .nxDomain),
        ("foo.cluster.local", .a, .nxDomain),
        ("dns-version.cluster.local", .a, .nxDomain),
        ("a.b.c.web.default.svc.cluster.local", .a, .nxDomain),
        ("_http.web.default.svc.cluster.local", .srv, .nxDomain),
        ("10-42-0-5.pg.db.svc.cluster.local", .a, .nxDomain),  // has a hostname: only that name
        ("10-42-0-7.pg.db.svc.cluster.local", .a, .nxDomain),  // not ready
    ])
    func emptyAnswers(_ name: String, _ type: DNSType, _ rcode: DNSRcode) throws {
        let r = try ask(name, type)
        #expect(r.rcode == rcode)
        #expect(r.answers.isEmpty)
        #expect(r.authority.map(\.type) == [.soa])
        #expect(r.authoritative)
    }

    @Test func headlessServiceAnswersReadyEndpointsOnce() throws {
        #expect(Set(try ask("pg.db.svc.cluster.local").addresses) == ["10.42.0.5", "10.42.0.6", "10.42.0.8"])
        #expect(try ask("pg.db.svc.cluster.local").answers.count == 3)
        records.apply(service: .updated(old: serviceJSON("db", "pg", clusterIP: "None"),
                                        new: serviceJSON("db", "pg", clusterIP: "None", ports: [("postgres", 5432)], publishNotReady: true)))
        #expect(Set(try ask("pg.db.svc.cluster.local").addresses) == ["10.42.0.5", "10.42.0.6", "10.42.0.7", "10.42.0.8"])
    }

    @Test func endpointNames() throws {
        #expect(try ask("pg-0.pg.db.svc.cluster.local").addresses == ["10.42.0.5"])
        #expect(try ask("10-42-0-6.pg.db.svc.cluster.local").addresses == ["10.42.0.6"])
        // Endpoint names also work under a ClusterIP Service, as in CoreDNS.
        #expect(try ask("10-42-1-9.web.default.svc.cluster.local").addresses == ["10.42.1.9"])
    }

    @Test func srvForAClusterIPService() throws {
        let r = try ask("_http._tcp.web.default.svc.cluster.local", .srv)
        #expect(r.answers.map(\.data) == [.srv(priority: 0, weight: 100, port: 80, target: dnsName("web.default.svc.cluster.local"))])
        #expect(r.additional.map(\.data) == [.address([10, 43, 0, 20])])
        #expect(r.additional.first?.name == dnsName("web.default.svc.cluster.local"))
        // Without a port, every port; the glue once.
        let all = try ask("web.default.svc.cluster.local", .srv)
        #expect(all.answers.map(\.data) == [80, 9090].map { .srv(priority: 0, weight: 50, port: $0, target: dnsName("web.default.svc.cluster.local")) })
        #expect(all.additional.count == 1)
        #expect(try ask("_nope._tcp.web.default.svc.cluster.local", .srv).rcode == .nxDomain)
        #expect(try ask("_http._udp.web.default.svc.cluster.local", .srv).rcode == .nxDomain)
    }

    @Test func srvForAHeadlessService() throws {
        let r = try ask("_postgres._tcp.pg.db.svc.cluster.local", .srv)
        let targets = ["pg-0", "10-42-0-6", "10-42-0-8"].map { dnsName("\($0).pg.db.svc.cluster.local") }
        #expect(Set(r.answers.map(\.data)) == Set(targets.map { .srv(priority: 0, weight: 33, port: 5432, target: $0) }))
        #expect(Set(r.additional.map(\.name)) == Set(targets))
        #expect(r.additional.allSatisfy { $0.type == .a })
    }

    @Test func externalNameInsideTheClusterIsChased() throws {
        let r = try ask("alias.default.svc.cluster.local")
        #expect(r.answers.map(\.type) == [.cname, .a])
        #expect(r.answers.first?.data == .name(dnsName("web.default.svc.cluster.local")))
        #expect(r.addresses == ["10.43.0.20"])
        #expect(try ask("alias.default.svc.cluster.local", .cname).answers.map(\.type) == [.cname])
    }

    @Test func externalNameOutsideTheClusterIsForwardedThenAppended() throws {
        let q = queryBytes("ext.default.svc.cluster.local", .a)
        guard case .forward(let request) = dns.handle(q, overUDP: true) else {
            Issue.record("expected a forward")
            return
        }
        #expect(request.question == DNSQuestion(name: dnsName("example.com"), type: .a))
        #expect(request.chain.map(\.data) == [.name(dnsName("example.com"))])
        // Once the target is cached, the answer is immediate: CNAME, then the target's A.
        var upstream = DNSMessage()
        upstream.questions = [request.question]
        upstream.answers = [ResourceRecord(name: dnsName("example.com"), type: .a, ttl: 300, data: .address([93, 184, 216, 34]))]
        dns.cache.insert(upstream, name: dnsName("example.com"), type: .a)
        let r = try #require(try dns.ask(bytes: q))
        #expect(r.answers.map(\.type) == [.cname, .a])
        #expect(r.answers.last?.ttl == 30)  // capped by the cache
    }

    @Test func reverseLookups() throws {
        func ptr(_ name: String) throws -> DNSName? {
            guard let r = try dns.ask(name, .ptr) else { return nil }
            guard case .name(let target) = r.answers.first?.data else { return .root }
            return target
        }
        #expect(try ptr("20.0.43.10.in-addr.arpa") == dnsName("web.default.svc.cluster.local"))
        #expect(try ptr("5.0.42.10.in-addr.arpa") == dnsName("pg-0.pg.db.svc.cluster.local"))
        #expect(try ptr("6.0.42.10.in-addr.arpa") == dnsName("10-42-0-6.pg.db.svc.cluster.local"))
        #expect(try ptr("0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.4.0.0.0.0.d.f.ip6.arpa") == dnsName("dual.default.svc.cluster.local"))
        // Unknown and unpublished addresses fall through to the forwarder.
        #expect(try ptr("7.0.42.10.in-addr.arpa") == nil)
        #expect(try ptr("9.9.9.9.in-addr.arpa") == nil)
        #expect(try dns.ask("20.0.43.10.in-addr.arpa", .a) == nil)
    }

    @Test func dualStackAndPods() throws {
        #expect(try ask("dual.default.svc.cluster.local").addresses == ["10.43.0.30"])
        #expect(try ask("dual.default.svc.cluster.local", .aaaa).answers.count == 1)
        #expect(try ask("10-42-0-5.default.pod.cluster.local").addresses == ["10.42.0.5"])
        #expect(try ask("10-42-0-5.anyns.pod.cluster.local").addresses == ["10.42.0.5"])
        #expect(try ask("10-42-0-5.default.pod.cluster.local", .aaaa).answers.isEmpty)
        #expect(try ask("fd00--5.default.pod.cluster.local", .aaaa).answers.first?.data == .address([0xfd] + Array(repeating: 0, count: 14) + [5]))
        #expect(try ask("not-an-ip.default.pod.cluster.local").rcode == .nxDomain)
    }

    @Test func apexRecords() throws {
        #expect(try ask("cluster.local", .soa).answers.map(\.type) == [.soa])
        #expect(try ask("cluster.local", .ns).answers.map(\.data) == [.name(dnsName("ns.dns.cluster.local"))])
        #expect(try ask("dns-version.cluster.local", .txt).answers.map(\.data) == [.txt([Array("1.1.0".utf8)])])
    }

    @Test func followsUpdatesAndDeletes() throws {
        let old = serviceJSON("default", "web", clusterIP: "10.43.0.20")
        let new = serviceJSON("default", "web", clusterIP: "10.43.0.21")
        records.apply(service: .updated(old: old, new: new))
        #expect(try ask("web.default.svc.cluster.local").addresses == ["10.43.0.21"])
        #expect(try dns.ask("20.0.43.10.in-addr.arpa", .ptr) == nil)
        records.apply(service: .deleted(new))
        #expect(try ask("web.default.svc.cluster.local").rcode == .nxDomain)

        records.apply(endpointSlice: .deleted(sliceJSON("db", "pg-abc", service: "pg", [])))
        #expect(try ask("pg.db.svc.cluster.local").addresses == ["10.42.0.6"])
        records.apply(endpointSlice: .deleted(sliceJSON("db", "pg-def", service: "pg", [])))
        #expect(try ask("pg.db.svc.cluster.local").rcode == .nxDomain)  // headless without endpoints
        #expect(try dns.ask("6.0.42.10.in-addr.arpa", .ptr) == nil)
    }

    @Test func protocolErrors() throws {
        #expect(try ask("web.default.svc.cluster.local", .a).rcode == .noError)
        #expect(try dns.ask(bytes: queryBytes("web.default.svc.cluster.local", .a, qclass: 3))?.rcode == .refused)
        var notify = queryBytes("web.default.svc.cluster.local", .soa)
        notify[2] |= 4 << 3
        #expect(try dns.ask(bytes: notify)?.rcode == .notImp)
        var two = DNSMessage()
        two.questions = [DNSQuestion(name: dnsName("a.b"), type: .a), DNSQuestion(name: dnsName("c.d"), type: .a)]
        #expect(try dns.ask(bytes: two.encoded())?.rcode == .formErr)
        let badVersion = try dns.ask(bytes: queryBytes("web.default.svc.cluster.local", .a, edns: EDNS(udpPayloadSize: 1232, version: 1)))
        #expect(badVersion?.rcode == .badVers && badVersion?.edns != nil)
        let edns = try #require(try dns.ask("web.default.svc.cluster.local", .a, edns: EDNS(udpPayloadSize: 1232)))
        #expect(edns.edns?.udpPayloadSize == 1232 && edns.addresses == ["10.43.0.20"])
        // Garbage after a readable header: FORMERR under the same ID. No header: no answer.
        let garbage: [UInt8] = [0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF]
        let formErr = try #require(try dns.ask(bytes: garbage))
        #expect(formErr.rcode == .formErr && formErr.id == 0xABCD && formErr.questions.isEmpty)
        #expect(try dns.ask(bytes: [1, 2, 3]) == nil)
    }

    @Test func udpAnswersOverTheLimitAreTruncated() throws {
        let many = (1...60).map { TestEndpoint("10.42.2.\($0)") }
        records.apply(service: .added(serviceJSON("default", "big", clusterIP: "None")))
        records.apply(endpointSlice: .added(sliceJSON("default", "big-1", service: "big", many)))
        let q = queryBytes("big.default.svc.cluster.local", .a)
        let udp = try #require(try dns.ask(bytes: q, overUDP: true))
        #expect(udp.truncated && udp.answers.isEmpty && udp.questions.count == 1)
        #expect(try dns.ask(bytes: q, overUDP: false)?.answers.count == 60)
        let large = queryBytes("big.default.svc.cluster.local", .a, edns: EDNS(udpPayloadSize: 4096))
        let ednsReply = try #require(try dns.ask(bytes: large, overUDP: true))
        #expect(!ednsReply.truncated && ednsReply.answers.count == 60)
    }
}
