import SkiffCore

/// One endpoint of a service port as an EndpointSlice lists it.
public struct ProxyEndpoint: Hashable, Sendable {
    public var ip: String
    public var port: Int
    public var ready: Bool
    public var serving: Bool
    public var terminating: Bool
    public var nodeName: String?

    public init(ip: String, port: Int, ready: Bool = true, serving: Bool = true, terminating: Bool = false, nodeName: String? = nil) {
        self.ip = ip
        self.port = port
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
        self.nodeName = nodeName
    }
}

/// What the proxy programs for one port of one Service (kube-proxy's ServicePort):
/// the addresses it answers on and the endpoints behind it.
public struct ProxyServicePort: Hashable, Sendable {
    /// "namespace/name/protocol/port-name-or-number": unique, and the chains' names.
    public var id: String
    /// tcp, udp or sctp, as nft spells them.
    public var proto: String
    public var clusterIP: String
    public var port: Int
    public var nodePort: Int?
    /// spec.externalIPs and status.loadBalancer.ingress IPs, routed like NodePorts.
    public var externalIPs: [String] = []
    /// sessionAffinity ClientIP's timeout in seconds, nil without affinity.
    public var affinityTimeout: Int?
    /// externalTrafficPolicy Local: external traffic goes to this node's endpoints only.
    public var externalLocal = false
    /// internalTrafficPolicy Local: traffic to the ClusterIP goes to this node's endpoints only.
    public var internalLocal = false
    public var endpoints: [ProxyEndpoint] = []

    public init(id: String, proto: String, clusterIP: String, port: Int) {
        self.id = id
        self.proto = proto
        self.clusterIP = clusterIP
        self.port = port
    }

    /// The namespace/name of the Service this port belongs to.
    public var serviceKey: String { id.split(separator: "/").prefix(2).joined(separator: "/") }

    /// The endpoints traffic may go to, as upstream's CategorizeEndpoints: ready ones, or
    /// when none is ready, the serving ones that are terminating (so connections drain
    /// during a rollout instead of failing).
    static func usable(_ endpoints: [ProxyEndpoint]) -> [ProxyEndpoint] {
        let ready = endpoints.filter(\.ready)
        if !ready.isEmpty { return ready }
        return endpoints.filter { $0.serving && $0.terminating }
    }

    func clusterEndpoints(node: String) -> [ProxyEndpoint] {
        Self.usable(internalLocal ? endpoints.filter { $0.nodeName == node } : endpoints)
    }

    func externalEndpoints(node: String) -> [ProxyEndpoint] {
        Self.usable(externalLocal ? endpoints.filter { $0.nodeName == node } : endpoints)
    }
}

/// Builds ProxyServicePorts from Service and EndpointSlice objects.
public enum ServicePorts {
    static let protocols = ["TCP": "tcp", "UDP": "udp", "SCTP": "sctp"]

    /// The ports of a Service the proxy programs: none for headless and ExternalName
    /// Services, which DNS alone answers. `slices` are the Service's EndpointSlices.
    public static func make(service: JSON, slices: [JSON]) -> [ProxyServicePort] {
        guard let namespace = service.namespace, let name = service.name,
              let clusterIP = service[path: ["spec", "clusterIP"]]?.stringValue, IPv4CIDR.parse(clusterIP) != nil,
              service[path: ["spec", "type"]]?.stringValue != "ExternalName"
        else { return [] }
        let spec = service["spec"] ?? [:]
        let external = (spec["externalIPs"]?.arrayValue ?? []).compactMap(\.stringValue)
            + (service[path: ["status", "loadBalancer", "ingress"]]?.arrayValue ?? []).compactMap { $0["ip"]?.stringValue }
        let affinity = spec["sessionAffinity"]?.stringValue == "ClientIP"
            ? Int(spec[path: ["sessionAffinityConfig", "clientIP", "timeoutSeconds"]]?.int64Value ?? 10800) : nil
        var out: [ProxyServicePort] = []
        for p in spec["ports"]?.arrayValue ?? [] {
            guard let port = p["port"]?.int64Value, let proto = protocols[p["protocol"]?.stringValue ?? "TCP"] else { continue }
            let portName = p["name"]?.stringValue ?? ""
            var sp = ProxyServicePort(id: "\(namespace)/\(name)/\(proto)/\(portName.isEmpty ? String(port) : portName)",
                                      proto: proto, clusterIP: clusterIP, port: Int(port))
            sp.nodePort = p["nodePort"]?.int64Value.map(Int.init)
            sp.externalIPs = external.filter { IPv4CIDR.parse($0) != nil }
            sp.affinityTimeout = affinity
            sp.externalLocal = spec["externalTrafficPolicy"]?.stringValue == "Local"
            sp.internalLocal = spec["internalTrafficPolicy"]?.stringValue == "Local"
            var seen = Set<String>()
            for slice in slices where slice["addressType"]?.stringValue ?? "IPv4" == "IPv4" {
                guard let target = (slice["ports"]?.arrayValue ?? []).first(where: {
                    ($0["name"]?.stringValue ?? "") == portName && protocols[$0["protocol"]?.stringValue ?? "TCP"] == proto
                })?["port"]?.int64Value else { continue }
                for e in slice["endpoints"]?.arrayValue ?? [] {
                    guard let ip = e["addresses"]?.arrayValue?.first?.stringValue, IPv4CIDR.parse(ip) != nil,
                          seen.insert(ip).inserted else { continue }
                    let conditions = e["conditions"] ?? [:]
                    // Unset conditions mean ready and serving, as the API documents.
                    let ready = conditions["ready"]?.boolValue ?? true
                    sp.endpoints.append(ProxyEndpoint(ip: ip, port: Int(target), ready: ready,
                                                      serving: conditions["serving"]?.boolValue ?? ready,
                                                      terminating: conditions["terminating"]?.boolValue ?? false,
                                                      nodeName: e["nodeName"]?.stringValue))
                }
            }
            sp.endpoints.sort { ($0.ip, $0.port) < ($1.ip, $1.port) }
            out.append(sp)
        }
        return out
    }
}
