import SkiffCore

/// What the ruleset needs to know about the node it runs on.
public struct ProxyNode: Sendable, Equatable {
    public var name: String
    /// Traffic to a ClusterIP from outside it (the host, other machines) is masqueraded.
    public var clusterCIDR: String
    /// Routed locally on the node; addresses in it no Service claims are rejected.
    public var serviceCIDR: String
    /// This node's pod range: its pods reaching themselves through a Service (hairpin)
    /// are masqueraded, or the reply would bypass the NAT.
    public var podCIDR: String?
    /// ClusterIP ports served by sockets of this node rather than by endpoints (the
    /// cluster DNS), as "ip proto port".
    public var localServices: [String] = []

    public init(name: String, clusterCIDR: String, serviceCIDR: String, podCIDR: String? = nil, localServices: [String] = []) {
        self.name = name
        self.clusterCIDR = clusterCIDR
        self.serviceCIDR = serviceCIDR
        self.podCIDR = podCIDR
        self.localServices = localServices
    }
}

/// The nftables rules of one Service: its own chains and affinity sets, and its elements
/// in the table's shared maps. Kept per Service so that a change is applied as the
/// difference between two fragments.
public struct ProxyFragment: Equatable, Sendable {
    struct Element: Hashable, Sendable {
        var set: String
        var key: String
        var value: String?
    }
    var chains: [String: [String]] = [:]
    /// Affinity sets by name, with their timeout in seconds.
    var sets: [String: Int] = [:]
    var elements: Set<Element> = []
    /// The largest `select-N` chain it jumps to.
    var selects = 0
}

/// Services and EndpointSlices → one nftables table, as kube-proxy's nftables mode lays
/// it out: verdict maps from (address, protocol, port) to what to do, REJECT for Services
/// without endpoints, masquerading by mark.
///
/// Unlike kube-proxy, a ClusterIP without session affinity has no chains of its own: its
/// endpoints' addresses are elements of one `endpoint-ips` map keyed by (ClusterIP,
/// random index), their port one element of `target-ports` per service port, and a shared
/// `select-N` chain for N endpoints picks one (select chains are only ever added). Linux
/// checks every jump against every set of the table and every map element against every
/// rule bound to its map, so one chain per endpoint (100,000 chains for 10,000 Services)
/// takes minutes to load here; this layout loads in well under a second. A Service whose
/// ports have different endpoints, or endpoints with different ports, gets a chain per
/// port instead, as one with session affinity does.
public enum ProxyRuleset {
    public static let tableName = "skiff_proxy"
    static let masqueradeMark = "0x4000"

    // MARK: Whole table

    /// The complete ruleset: loading it replaces whatever the table held, atomically.
    public static func render(_ ports: [ProxyServicePort], node: ProxyNode) -> String {
        let byService = Dictionary(grouping: ports, by: \.serviceKey)
        return full(byService.keys.sorted().map { fragment(byService[$0]!, node: node) }, node: node)
    }

    /// The table's fixed part: its shared maps and sets, and the chains every node has.
    struct Base {
        var sets: [(kind: String, name: String, spec: String, elements: [String])]
        var chains: [(name: String, hook: String?, rules: [String])]
    }

    static func base(_ node: ProxyNode) -> Base {
        let filter = { (hook: String) in "type filter hook \(hook) priority -110; policy accept;" }
        let nat = { (hook: String, priority: Int) in "type nat hook \(hook) priority \(priority); policy accept;" }
        return Base(
            sets: [
                ("map", "service-ips", "type ipv4_addr . inet_proto . inet_service : verdict", []),
                ("map", "service-nodeports", "type inet_proto . inet_service : verdict", []),
                ("map", "no-endpoint-services", "type ipv4_addr . inet_proto . inet_service : verdict", []),
                ("map", "no-endpoint-nodeports", "type inet_proto . inet_service : verdict", []),
                ("map", "endpoint-ips", "typeof ip daddr . numgen random mod 1 : ip daddr", []),
                ("map", "target-ports", "typeof ip daddr . meta l4proto . th dport : th dport", []),
                ("set", "hairpin", "type ipv4_addr . ipv4_addr", hairpin(node)),
                ("set", "local-services", "type ipv4_addr . inet_proto . inet_service",
                 node.localServices.map { $0.replacingOccurrences(of: " ", with: " . ") }),
            ],
            chains: [
                ("filter-prerouting", filter("prerouting"), [#"iifname != "lo" ip daddr 127.0.0.0/8 drop"#, "ct state new jump service-endpoints-check"]),
                ("filter-output", filter("output"), ["ct state new jump service-endpoints-check"]),
                ("filter-input", filter("input"), ["ct state new ip daddr \(node.serviceCIDR) jump cluster-ips-check"]),
                ("service-endpoints-check", nil, [
                    "ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
                    "fib daddr type local ip daddr != \(node.serviceCIDR) meta l4proto . th dport vmap @no-endpoint-nodeports",
                ]),
                ("cluster-ips-check", nil, ["ip daddr . meta l4proto . th dport @local-services accept", "reject"]),
                ("reject-chain", nil, ["reject"]),
                ("nat-prerouting", nat("prerouting", -100), ["jump services"]),
                ("nat-output", nat("output", -100), ["jump services"]),
                ("nat-postrouting", nat("postrouting", 100), ["jump masquerading"]),
                ("services", nil, [
                    "ip daddr \(node.serviceCIDR) ip saddr != \(node.clusterCIDR) jump mark-for-masquerade",
                    "ip daddr . meta l4proto . th dport vmap @service-ips",
                    "fib daddr type local ip daddr != \(node.serviceCIDR) meta l4proto . th dport vmap @service-nodeports",
                ]),
                ("mark-for-masquerade", nil, ["meta mark set meta mark | \(masqueradeMark)"]),
                ("masquerading", nil, [
                    "ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random",
                    "meta mark & \(masqueradeMark) == 0 return",
                    "meta mark set meta mark ^ \(masqueradeMark)",
                    "masquerade fully-random",
                ]),
            ])
    }

    /// The whole table, recreated: what the first sync (and one after a failure) loads.
    public static func full(_ fragments: [ProxyFragment], node: ProxyNode) -> String {
        let base = base(node)
        var out = "add table ip \(tableName)\ndelete table ip \(tableName)\ntable ip \(tableName) {\n"
        out += "  comment \"Services, written by skiff's proxy\"\n"
        for s in base.sets { out += "  \(s.kind) \(s.name) {\n    \(s.spec)\(elements(s.elements))\n  }\n" }
        for c in base.chains { out += chainBlock(c.name, (c.hook.map { [$0] } ?? []) + c.rules) }
        for n in stride(from: 1, through: fragments.map(\.selects).max() ?? 0, by: 1) { out += chainBlock("select-\(n)", [selectRule(n)]) }
        for f in fragments {
            for (name, timeout) in f.sets.sorted(by: { $0.key < $1.key }) { out += setBlock(name, timeout) }
            for (name, rules) in f.chains.sorted(by: { $0.key < $1.key }) { out += chainBlock(name, rules) }
        }
        return out + "}\n" + elementCommands(fragments)
    }

    /// The whole table rewritten in place: every chain and map flushed and filled again,
    /// missing ones created — but session-affinity sets kept with what they remember, as
    /// kube-proxy's periodic sync keeps them. Stale objects were removed by the updates.
    public static func repair(_ fragments: [ProxyFragment], node: ProxyNode) -> String {
        let base = base(node)
        let prefix = "ip \(tableName)"
        var out = "add table \(prefix)\n"
        var chains: [(String, [String])] = []
        for s in base.sets {
            out += "add \(s.kind) \(prefix) \(s.name) { \(s.spec); }\nflush \(s.kind) \(prefix) \(s.name)\n"
        }
        for c in base.chains {
            out += "add chain \(prefix) \(c.name)" + (c.hook.map { " { \($0) }" } ?? "") + "\nflush chain \(prefix) \(c.name)\n"
            chains.append((c.name, c.rules))
        }
        for n in stride(from: 1, through: fragments.map(\.selects).max() ?? 0, by: 1) { chains.append(("select-\(n)", [selectRule(n)])) }
        for f in fragments {
            for (name, timeout) in f.sets.sorted(by: { $0.key < $1.key }) {
                out += "add set \(prefix) \(name) { type ipv4_addr; flags dynamic,timeout; timeout \(timeout)s; }\n"
            }
            chains += f.chains.sorted(by: { $0.key < $1.key })
        }
        for (name, _) in chains.dropFirst(base.chains.count) { out += "add chain \(prefix) \(name)\nflush chain \(prefix) \(name)\n" }
        for (name, rules) in chains { for rule in rules { out += "add rule \(prefix) \(name) \(rule)\n" } }
        for s in base.sets where !s.elements.isEmpty {
            out += "add element \(prefix) \(s.name) { \(s.elements.joined(separator: ", ")) }\n"
        }
        return out + elementCommands(fragments)
    }

    /// The fragments' elements, one command per map or set; last, once every chain they
    /// name exists.
    static func elementCommands(_ fragments: [ProxyFragment]) -> String {
        var bySet: [String: [String]] = [:]
        for f in fragments {
            for e in f.elements.sorted(by: { ($0.set, $0.key) < ($1.set, $1.key) }) { bySet[e.set, default: []].append(element(e)) }
        }
        return bySet.sorted(by: { $0.key < $1.key }).map { "add element ip \(tableName) \($0.key) { \($0.value.joined(separator: ", ")) }\n" }.joined()
    }

    // MARK: Changes

    /// One transaction taking the table from `old` to `new` fragments (keyed by Service),
    /// touching only what differs. Order matters inside the transaction: a
    /// chain or set is deleted only after nothing refers to it any more.
    public static func update(from old: [String: ProxyFragment], to new: [String: ProxyFragment], selects: Int) -> String {
        var out = ""
        func line(_ s: String) { out += s + "\n" }
        var deleteElements: [ProxyFragment.Element] = [], addElements: [ProxyFragment.Element] = []
        var flushChains: [String] = [], deleteChains: [String] = [], writeChains: [(String, [String])] = []
        var deleteSets: [String] = [], addSets: [(String, Int)] = []
        for key in Set(old.keys).union(new.keys).sorted() {
            let before = old[key] ?? ProxyFragment(), after = new[key] ?? ProxyFragment()
            guard before != after else { continue }
            deleteElements += before.elements.subtracting(after.elements).sorted { element($0) < element($1) }
            addElements += after.elements.subtracting(before.elements).sorted { element($0) < element($1) }
            for (name, rules) in before.chains.sorted(by: { $0.key < $1.key }) where after.chains[name] != rules {
                if after.chains[name] == nil { deleteChains.append(name) } else { flushChains.append(name) }
            }
            for (name, rules) in after.chains.sorted(by: { $0.key < $1.key }) where before.chains[name] != rules {
                writeChains.append((name, rules))
            }
            for (name, timeout) in before.sets.sorted(by: { $0.key < $1.key }) where after.sets[name] != timeout { deleteSets.append(name) }
            for (name, timeout) in after.sets.sorted(by: { $0.key < $1.key }) where before.sets[name] != timeout { addSets.append((name, timeout)) }
        }
        // An element whose key stays but whose value changes is deleted, then added.
        for e in deleteElements { line("delete element ip \(tableName) \(e.set) { \(e.key) }") }
        for name in flushChains + deleteChains { line("flush chain ip \(tableName) \(name)") }
        for name in deleteChains { line("delete chain ip \(tableName) \(name)") }
        for name in deleteSets { line("delete set ip \(tableName) \(name)") }
        for (name, timeout) in addSets {
            line("add set ip \(tableName) \(name) { type ipv4_addr; flags dynamic,timeout; timeout \(timeout)s; }")
        }
        let needed = new.values.map(\.selects).max() ?? 0
        if needed > selects {
            for n in (selects + 1)...needed {
                line("add chain ip \(tableName) select-\(n)")
                line("add rule ip \(tableName) select-\(n) \(selectRule(n))")
            }
        }
        for (name, rules) in writeChains {
            line("add chain ip \(tableName) \(name)")
            for rule in rules { line("add rule ip \(tableName) \(name) \(rule)") }
        }
        for e in addElements { line("add element ip \(tableName) \(e.set) { \(element(e)) }") }
        return out
    }

    // MARK: One Service

    public static func fragment(_ ports: [ProxyServicePort], node: ProxyNode) -> ProxyFragment {
        var f = ProxyFragment()
        // The shared maps serve the ClusterIP when every port goes to the same endpoint
        // addresses, each port to one target port.
        let mapped = ports.filter { $0.affinityTimeout == nil && !node.localServices.contains("\($0.clusterIP) \($0.proto) \($0.port)") }
            .map { $0.clusterEndpoints(node: node.name) }.filter { !$0.isEmpty }
        let shared = mapped.first.map { first in
            mapped.allSatisfy { eps in eps.map(\.ip) == first.map(\.ip) && Set(eps.map(\.port)).count == 1 }
        } ?? false
        if shared, let endpoints = mapped.first {
            for (i, e) in endpoints.enumerated() {
                f.elements.insert(.init(set: "endpoint-ips", key: "\(ports[0].clusterIP) . \(i)", value: e.ip))
            }
        }
        for sp in ports { add(sp, shared: shared, to: &f, node: node) }
        return f
    }

    static func add(_ sp: ProxyServicePort, shared: Bool, to f: inout ProxyFragment, node: ProxyNode) {
        let id = sp.id, proto = sp.proto
        if let timeout = sp.affinityTimeout {
            for e in sp.endpoints { f.sets["affinity-\(id)__\(e.ip)/\(e.port)"] = timeout }
        }
        // A Service with endpoints, none of them usable here, drops what a policy keeps
        // local; one without any endpoints at all rejects, so clients fail at once.
        func noEndpoints(local: Bool) -> String {
            local && !ProxyServicePort.usable(sp.endpoints).isEmpty ? "drop" : "goto reject-chain"
        }

        if !node.localServices.contains("\(sp.clusterIP) \(proto) \(sp.port)") {
            let key = "\(sp.clusterIP) . \(proto) . \(sp.port)"
            let endpoints = sp.clusterEndpoints(node: node.name)
            if endpoints.isEmpty {
                f.elements.insert(.init(set: "no-endpoint-services", key: key, value: noEndpoints(local: sp.internalLocal)))
            } else if sp.affinityTimeout != nil || !shared {
                f.chains["service-\(id)"] = dnatRules(sp, endpoints)
                f.elements.insert(.init(set: "service-ips", key: key, value: "goto service-\(id)"))
            } else {
                f.elements.insert(.init(set: "target-ports", key: key, value: String(endpoints[0].port)))
                f.elements.insert(.init(set: "service-ips", key: key, value: "goto select-\(endpoints.count)"))
                f.selects = max(f.selects, endpoints.count)
            }
        }

        guard sp.nodePort != nil || !sp.externalIPs.isEmpty else { return }
        let external = sp.externalEndpoints(node: node.name)
        let cluster = sp.externalLocal ? sp.clusterEndpoints(node: node.name) : external
        var targets: [ProxyFragment.Element] = []
        if let nodePort = sp.nodePort { targets.append(.init(set: "service-nodeports", key: "\(proto) . \(nodePort)")) }
        for ip in sp.externalIPs { targets.append(.init(set: "service-ips", key: "\(ip) . \(proto) . \(sp.port)")) }
        if external.isEmpty && cluster.isEmpty {
            for t in targets {
                f.elements.insert(.init(set: t.set == "service-ips" ? "no-endpoint-services" : "no-endpoint-nodeports",
                                        key: t.key, value: noEndpoints(local: sp.externalLocal)))
            }
            return
        }
        if sp.externalLocal {
            // Pods and the node itself are not outside: they reach every endpoint (the node
            // masqueraded), as kube-proxy short-circuits them; from outside, only this node's
            // endpoints, the client's address kept — or nothing, when there are none here.
            var rules: [String] = []
            if !cluster.isEmpty {
                f.chains["cluster-\(id)"] = dnatRules(sp, cluster)
                rules = ["ip saddr \(node.clusterCIDR) goto cluster-\(id)", "fib saddr type local jump mark-for-masquerade",
                         "fib saddr type local goto cluster-\(id)"]
            }
            f.chains["external-\(id)"] = rules + (external.isEmpty ? ["drop"] : dnatRules(sp, external))
        } else {
            f.chains["external-\(id)"] = ["jump mark-for-masquerade"] + dnatRules(sp, external)
        }
        for t in targets { f.elements.insert(.init(set: t.set, key: t.key, value: "goto external-\(id)")) }
    }

    /// DNAT to one of `endpoints` at random, as a cascade (the i-th rule matches with
    /// probability 1/(n-i)); with session affinity, a client's remembered endpoint first.
    static func dnatRules(_ sp: ProxyServicePort, _ endpoints: [ProxyEndpoint]) -> [String] {
        var rules: [String] = []
        func affinity(_ e: ProxyEndpoint) -> String { "@affinity-\(sp.id)__\(e.ip)/\(e.port)" }
        if sp.affinityTimeout != nil {
            for e in endpoints {
                rules.append("ip saddr \(affinity(e)) meta l4proto \(sp.proto) update \(affinity(e)) { ip saddr } dnat to \(e.ip):\(e.port)")
            }
        }
        for (i, e) in endpoints.enumerated() {
            var rule = i < endpoints.count - 1 ? "numgen random mod \(endpoints.count - i) 0 " : ""
            rule += "meta l4proto \(sp.proto) "
            if sp.affinityTimeout != nil { rule += "update \(affinity(e)) { ip saddr } " }
            rules.append(rule + "dnat to \(e.ip):\(e.port)")
        }
        return rules
    }

    /// The maps are bound by one rule per select chain: Linux checks each of their elements
    /// against every rule bound to them.
    static func selectRule(_ n: Int) -> String {
        "meta l4proto { tcp, udp, sctp } dnat ip to ip daddr . numgen random mod \(n) map @endpoint-ips : ip daddr . meta l4proto . th dport map @target-ports"
    }

    /// Every address of this node's pod range paired with itself.
    static func hairpin(_ node: ProxyNode) -> [String] {
        guard let cidr = node.podCIDR.flatMap(IPv4CIDR.init), cidr.prefixLength >= 16 else { return [] }
        return (0..<UInt32(cidr.size)).map { let ip = IPv4CIDR.format(cidr.base + $0); return "\(ip) . \(ip)" }
    }

    // MARK: Text

    static func element(_ e: ProxyFragment.Element) -> String { e.value.map { "\(e.key) : \($0)" } ?? e.key }

    static func elements(_ items: [String]) -> String {
        items.isEmpty ? "" : "\n    elements = { \(items.joined(separator: ", ")) }"
    }

    static func chainBlock(_ name: String, _ rules: [String]) -> String {
        "  chain \(name) {\n" + rules.map { "    \($0)\n" }.joined() + "  }\n"
    }

    static func setBlock(_ name: String, _ timeout: Int) -> String {
        "  set \(name) {\n    type ipv4_addr\n    flags dynamic,timeout\n    timeout \(timeout)s\n  }\n"
    }
}

