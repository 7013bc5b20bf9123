/// What the cluster zone says about a question.
enum ZoneAnswer: Equatable {
    /// The zone owns the name: an authoritative answer (NXDOMAIN and NODATA carry the SOA).
    case answer(rcode: DNSRcode, answers: [ResourceRecord], authority: [ResourceRecord], additional: [ResourceRecord])
    /// ExternalName CNAMEs whose final target lies outside the zone: resolve it upstream
    /// and append what comes back, as CoreDNS does.
    case alias(chain: [ResourceRecord], target: DNSName)
    /// Not the zone's (other domains, reverse names of no Service or endpoint): forward.
    case forward
}

/// The answers of CoreDNS' kubernetes plugin with `pods insecure` and
/// `fallthrough in-addr.arpa ip6.arpa`, from the records' indexes.
extension ClusterDNSRecords {
    func resolve(_ name: DNSName, _ type: DNSType, ttl: UInt32) -> ZoneAnswer {
        var chain: [ResourceRecord] = []
        var current = name
        while chain.count < 8 {
            switch resolveOnce(current, type, ttl: ttl) {
            case .alias(let cnames, let target):
                chain += cnames
                if type == .cname { return .answer(rcode: .noError, answers: chain, authority: [], additional: []) }
                guard isInZone(target) else { return .alias(chain: chain, target: target) }
                current = target
            case .answer(let rcode, let answers, let authority, let additional):
                if chain.isEmpty { return .answer(rcode: rcode, answers: answers, authority: authority, additional: additional) }
                return .answer(rcode: .noError, answers: chain + answers, authority: [], additional: additional)
            case .forward:
                return chain.isEmpty ? .forward : .alias(chain: chain, target: current)
            }
        }
        return .answer(rcode: .servFail, answers: [], authority: [], additional: [])  // a CNAME loop
    }

    func isInZone(_ name: DNSName) -> Bool { isInZone(name.lowercasedText) }

    private func isInZone(_ text: String) -> Bool {
        text == domain || (text.hasSuffix(domain) && text.dropLast(domain.count).hasSuffix("."))
    }

    private func resolveOnce(_ name: DNSName, _ type: DNSType, ttl: UInt32) -> ZoneAnswer {
        let text = name.lowercasedText
        if isInZone(text) {
            let labels = text == domain ? [] : text.dropLast(domain.count + 1).split(separator: ".", omittingEmptySubsequences: false)
            return state.withLock { cluster(labels, name, type, ttl, $0) }
        }
        guard type == .ptr, let ip = reverseAddress(text), let target = state.withLock({ $0.reverseName(of: ip) }),
              let targetName = DNSName("\(target).\(domain)")
        else { return .forward }
        let ptr = ResourceRecord(name: name, type: .ptr, ttl: ttl, data: .name(targetName))
        return .answer(rcode: .noError, answers: [ptr], authority: [], additional: [])
    }

    /// `labels` are the query's labels left of the domain, lower case.
    private func cluster(_ labels: [Substring], _ qname: DNSName, _ type: DNSType, _ ttl: UInt32, _ s: State) -> ZoneAnswer {
        var soa: ResourceRecord { soaRecord(ttl: ttl, serial: s.serial) }
        var nxdomain: ZoneAnswer { .answer(rcode: .nxDomain, answers: [], authority: [soa], additional: []) }
        func answer(_ records: [ResourceRecord], additional: [ResourceRecord] = []) -> ZoneAnswer {
            records.isEmpty
                ? .answer(rcode: .noError, answers: [], authority: [soa], additional: [])
                : .answer(rcode: .noError, answers: records, authority: [], additional: additional)
        }

        if labels.isEmpty {
            switch type {
            case .soa: return answer([soa])
            case .ns: return answer([ResourceRecord(name: qname, type: .ns, ttl: ttl, data: .name(nameserver))])
            default: return answer([])
            }
        }
        if labels == ["dns-version"], type == .txt {
            return answer([ResourceRecord(name: qname, type: .txt, ttl: ttl, data: .txt([Array("1.1.0".utf8)]))])
        }
        guard let kind = labels.last, kind == "svc" || kind == "pod" else { return nxdomain }
        guard labels.count > 1 else { return answer([]) }
        let namespace = labels[labels.count - 2]
        if labels.count == 2 {
            let exists = s.namespaces.contains(String(namespace)) || s.servicesPerNamespace[String(namespace)] != nil
            return exists ? answer([]) : nxdomain
        }

        if kind == "pod" {
            // "pods insecure": any well-formed dashed address answers, in any namespace.
            let label = labels[0]
            let dots = label.count(where: { $0 == "-" }) == 3 && !label.contains("--")
            let ip = String(label.map { $0 == "-" ? (dots ? "." : ":") : $0 })
            guard labels.count == 3, ipBytes(ip) != nil else { return nxdomain }
            return answer(addressRecords(qname, [ip], type, ttl))
        }

        let serviceKey = "\(namespace)/\(labels[labels.count - 3])"
        guard labels.count <= 5, let svc = s.services[serviceKey] else { return nxdomain }
        let serviceName = "\(s.serviceName(serviceKey)).\(domain)"
        let endpoint = labels.count == 4 ? labels[0] : nil
        let portName = labels.count == 5 ? labels[0].trimmingPrefix("_") : nil
        let proto = labels.count == 5 ? labels[1].trimmingPrefix("_") : nil
        func matches(_ p: Port) -> Bool { (portName.map { $0 == p.name } ?? true) && (proto.map { $0 == p.proto } ?? true) }

        if let external = svc.externalName {
            guard endpoint == nil, ipBytes(external) == nil, let target = DNSName(external), target != .root else { return nxdomain }
            return .alias(chain: [ResourceRecord(name: qname, type: .cname, ttl: ttl, data: .name(target))], target: target)
        }

        var targets: [(ip: String, port: Int?, name: String)] = []
        if svc.headless || endpoint != nil {
            for e in s.endpoints(of: serviceKey) where endpoint.map({ e.label == $0 }) ?? true {
                for p in e.ports where matches(p) { targets.append((e.ip, p.port, "\(e.label).\(serviceName)")) }
            }
        } else {
            for p in svc.ports.isEmpty ? [.none] : svc.ports where matches(p) {
                for ip in svc.clusterIPs { targets.append((ip, p.port, serviceName)) }
            }
        }
        guard !targets.isEmpty else { return nxdomain }
        guard type == .srv else { return answer(addressRecords(qname, targets.map(\.ip), type, ttl)) }

        var seen = Set<String>()
        let srv = targets.filter { $0.port != nil && seen.insert("\($0.name) \($0.port ?? 0)").inserted }
        let weight = UInt16(max(1, 100 / max(srv.count, 1)))  // CoreDNS: equal shares of 100
        var records: [ResourceRecord] = []
        var additional: [ResourceRecord] = []
        for t in srv {
            guard let target = DNSName(t.name) else { continue }
            let data = RData.srv(priority: 0, weight: weight, port: UInt16(truncatingIfNeeded: t.port ?? 0), target: target)
            records.append(ResourceRecord(name: qname, type: .srv, ttl: ttl, data: data))
            for glue in addressRecords(target, [t.ip], nil, ttl) where !additional.contains(glue) { additional.append(glue) }
        }
        return answer(records, additional: additional)
    }

    /// A or AAAA records for the addresses of the asked family (both for nil), de-duplicated.
    private func addressRecords(_ owner: DNSName, _ ips: [String], _ type: DNSType?, _ ttl: UInt32) -> [ResourceRecord] {
        var seen = Set<[UInt8]>()
        return ips.compactMap { ip in
            guard let bytes = ipBytes(ip), seen.insert(bytes).inserted else { return nil }
            let family: DNSType = bytes.count == 4 ? .a : .aaaa
            guard type == nil || type == family else { return nil }
            return ResourceRecord(name: owner, type: family, ttl: ttl, data: .address(bytes))
        }
    }

    /// The zone's SOA as CoreDNS writes it.
    func soaRecord(ttl: UInt32, serial: UInt32) -> ResourceRecord {
        let soa = SOAData(mname: nameserver, rname: hostmaster, serial: serial,
                          refresh: 7200, retry: 1800, expire: 86400, minimum: ttl)
        return ResourceRecord(name: zone, type: .soa, ttl: min(ttl, 300), data: .soa(soa))
    }
}

/// The address a reverse name stands for: d.c.b.a.in-addr.arpa, or 32 nibbles under ip6.arpa.
func reverseAddress(_ name: String) -> [UInt8]? {
    if name.hasSuffix(".in-addr.arpa") {
        let octets = name.dropLast(13).split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        return ipBytes(octets.reversed().joined(separator: "."))
    }
    guard name.hasSuffix(".ip6.arpa") else { return nil }
    let nibbles = name.dropLast(9).split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0, radix: 16) }
    guard nibbles.count == 32, name.count == 32 * 2 + 8 else { return nil }
    return stride(from: 30, through: 0, by: -2).map { nibbles[$0 + 1] << 4 | nibbles[$0] }
}
