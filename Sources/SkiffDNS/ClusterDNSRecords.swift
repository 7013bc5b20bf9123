#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import SkiffAPI
import SkiffClient
import SkiffCore
import Synchronization

/// What DNS needs of the cluster's Services and EndpointSlices, kept current from informer
/// events and indexed the ways queries look things up (by name, by ClusterIP, slices by
/// service, endpoint IP for PTR). Readiness is decided at query time, so a Service and its
/// slices may arrive in any order.
public final class ClusterDNSRecords: Sendable {
    /// The cluster domain ("cluster.local"), lower case, without the final dot.
    public let domain: String
    /// The domain as a name (the SOA's owner), and the SOA's mname and rname, as CoreDNS
    /// writes them.
    let zone: DNSName
    let nameserver: DNSName
    let hostmaster: DNSName

    struct Port: Hashable, Sendable {
        var name: String
        var proto: String
        var port: Int?  // nil: the "no ports" sentinel, which addresses match but SRV skips
        static let none = Port(name: "", proto: "", port: nil)
    }

    struct Service: Hashable, Sendable {
        var clusterIPs: [String] = []
        var headless = false
        var externalName: String?
        var ports: [Port] = []
        var publishNotReadyAddresses = false
    }

    struct Endpoint: Hashable, Sendable {
        var addresses: [String]
        var hostname: String?
        var ready: Bool
    }

    struct Slice: Hashable, Sendable {
        var service: String  // "ns/name"
        var endpoints: [Endpoint]
        var ports: [Port]
    }

    struct State {
        var services: [String: Service] = [:]
        var serviceByIP: [[UInt8]: String] = [:]
        var slices: [String: Slice] = [:]
        var slicesByService: [String: Set<String>] = [:]
        var slicesByIP: [[UInt8]: Set<String>] = [:]
        var servicesPerNamespace: [String: Int] = [:]
        /// Namespaces from a Namespace informer, when one feeds `apply(namespace:)`.
        var namespaces: Set<String> = []
        var serial = UInt32(truncatingIfNeeded: time(nil))
    }

    let state = Mutex(State())

    public init(domain: String = "cluster.local") {
        zone = DNSName(domain)?.lowercased() ?? DNSName.root
        self.domain = zone.lowercasedText
        nameserver = DNSName("ns.dns.\(self.domain)") ?? .root
        hostmaster = DNSName("hostmaster.\(self.domain)") ?? .root
    }

    /// Feed a Services informer's events here.
    public func apply(service event: InformerEvent) {
        switch event {
        case .added(let o), .updated(_, let o): setService(objectKey(o), Self.service(from: o))
        case .deleted(let o): setService(objectKey(o), nil)
        }
    }

    /// Feed a Namespaces informer's events here: `<ns>.svc` then exists (NODATA) for a
    /// namespace without Services too, as CoreDNS answers it.
    public func apply(namespace event: InformerEvent) {
        state.withLock { s in
            switch event {
            case .added(let o), .updated(_, let o): if let name = o.name { s.namespaces.insert(name) }
            case .deleted(let o): if let name = o.name { s.namespaces.remove(name) }
            }
        }
    }

    /// Feed an EndpointSlices informer's events here.
    public func apply(endpointSlice event: InformerEvent) {
        switch event {
        case .added(let o), .updated(_, let o): setSlice(objectKey(o), Self.slice(from: o))
        case .deleted(let o): setSlice(objectKey(o), nil)
        }
    }

    /// The SOA serial: when the records last changed, as CoreDNS reports it.
    public var serial: UInt32 { state.withLock { $0.serial } }

    private func setService(_ key: String, _ new: Service?) {
        let namespace = splitKey(key).namespace ?? ""
        state.withLock { s in
            let old = s.services[key]
            guard old != new else { return }
            if let old {
                for ip in old.clusterIPs { if let b = ipBytes(ip) { s.serviceByIP[b] = nil } }
                s.servicesPerNamespace[namespace, default: 1] -= 1
                if s.servicesPerNamespace[namespace] == 0 { s.servicesPerNamespace[namespace] = nil }
            }
            s.services[key] = new
            if let new {
                for ip in new.clusterIPs { if let b = ipBytes(ip) { s.serviceByIP[b] = key } }
                s.servicesPerNamespace[namespace, default: 0] += 1
            }
            s.serial = UInt32(truncatingIfNeeded: time(nil))
        }
    }

    private func setSlice(_ key: String, _ new: Slice?) {
        state.withLock { s in
            let old = s.slices[key]
            guard old != new else { return }
            if let old {
                s.slicesByService[old.service]?.remove(key)
                if s.slicesByService[old.service]?.isEmpty == true { s.slicesByService[old.service] = nil }
                for ip in old.endpoints.flatMap(\.addresses).compactMap(ipBytes) {
                    s.slicesByIP[ip]?.remove(key)
                    if s.slicesByIP[ip]?.isEmpty == true { s.slicesByIP[ip] = nil }
                }
            }
            s.slices[key] = new
            if let new {
                s.slicesByService[new.service, default: []].insert(key)
                for ip in new.endpoints.flatMap(\.addresses).compactMap(ipBytes) { s.slicesByIP[ip, default: []].insert(key) }
            }
            s.serial = UInt32(truncatingIfNeeded: time(nil))
        }
    }

    static func service(from o: JSON) -> Service {
        var svc = Service()
        let spec = o["spec"]
        if spec?["type"]?.stringValue == "ExternalName" {
            svc.externalName = spec?["externalName"]?.stringValue ?? ""
            return svc
        }
        let clusterIP = spec?["clusterIP"]?.stringValue ?? ""
        svc.headless = clusterIP == "None"
        let ips = spec?["clusterIPs"]?.arrayValue?.compactMap(\.stringValue) ?? [clusterIP]
        svc.clusterIPs = svc.headless ? [] : ips.filter { ipBytes($0) != nil }
        svc.ports = (spec?["ports"]?.arrayValue ?? []).map(port)
        svc.publishNotReadyAddresses = spec?["publishNotReadyAddresses"]?.boolValue ?? false
        return svc
    }

    /// Slices not labelled with their Service, or carrying FQDNs, give DNS nothing.
    static func slice(from o: JSON) -> Slice? {
        guard let service = o.labels["kubernetes.io/service-name"], o["addressType"]?.stringValue != "FQDN" else { return nil }
        let endpoints = (o["endpoints"]?.arrayValue ?? []).map { e in
            Endpoint(addresses: e["addresses"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                     hostname: e["hostname"]?.stringValue.flatMap { $0.isEmpty ? nil : $0.lowercased() },
                     ready: e[path: ["conditions", "ready"]]?.boolValue ?? true)
        }
        return Slice(service: "\(o.namespace ?? "")/\(service)", endpoints: endpoints,
                     ports: (o["ports"]?.arrayValue ?? []).map(port))
    }

    private static func port(_ p: JSON) -> Port {
        Port(name: (p["name"]?.stringValue ?? "").lowercased(), proto: (p["protocol"]?.stringValue ?? "TCP").lowercased(),
             port: p["port"]?.intValue)
    }
}

/// An endpoint address as DNS serves it: the label naming it under its Service (hostname,
/// else the address with dashes, as CoreDNS) and the ports of its slice.
struct ServedEndpoint {
    var ip: String
    var label: String
    var ports: [ClusterDNSRecords.Port]
}

extension ClusterDNSRecords.State {
    /// The addresses a Service publishes: ready ones, or all with publishNotReadyAddresses.
    func endpoints(of serviceKey: String) -> [ServedEndpoint] {
        let publishAll = services[serviceKey]?.publishNotReadyAddresses ?? false
        var out: [ServedEndpoint] = []
        for sliceKey in (slicesByService[serviceKey] ?? []).sorted() {
            guard let slice = slices[sliceKey] else { continue }
            let ports = slice.ports.isEmpty ? [.none] : slice.ports
            for e in slice.endpoints where e.ready || publishAll {
                for ip in e.addresses { out.append(ServedEndpoint(ip: ip, label: e.hostname ?? dashed(ip), ports: ports)) }
            }
        }
        return out
    }

    /// The name a reverse lookup of `ip` answers, relative to the domain ("svc.ns.svc" or
    /// "label.svc.ns.svc"): ClusterIPs first, then published endpoint addresses.
    func reverseName(of ip: [UInt8]) -> String? {
        if let key = serviceByIP[ip] { return serviceName(key) }
        for sliceKey in (slicesByIP[ip] ?? []).sorted() {
            guard let slice = slices[sliceKey] else { continue }
            if let e = endpoints(of: slice.service).first(where: { ipBytes($0.ip) == ip }) {
                return "\(e.label).\(serviceName(slice.service))"
            }
        }
        return nil
    }

    /// "ns/name" → "name.ns.svc".
    func serviceName(_ key: String) -> String {
        let (ns, name) = splitKey(key)
        return "\(name).\(ns ?? "").svc"
    }
}

/// 10.42.0.5 → 10-42-0-5, fd00::5 → fd00--5: CoreDNS' label for an endpoint without hostname.
func dashed(_ ip: String) -> String {
    String(ip.lowercased().map { $0 == "." || $0 == ":" ? "-" : $0 })
}

/// The 4 or 16 bytes of an IP address in text, nil for anything else.
func ipBytes(_ text: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
    return nil
}
