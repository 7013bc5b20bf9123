import Foundation
import SkiffCore
import SkiffRuntime
import Testing
@testable import SkiffProxy

/// The ruleset as a pure function of Services, EndpointSlices and the node, checked
/// against golden files (regenerate with SKIFF_UPDATE_GOLDEN=1), and loaded into a real
/// kernel inside a network namespace when root.
struct ProxyRulesetTests {
    static let node = ProxyNode(name: "node-a", clusterCIDR: "10.42.0.0/16", serviceCIDR: "10.43.0.0/16",
                                podCIDR: "10.42.0.0/30", localServices: ["10.43.0.10 udp 53", "10.43.0.10 tcp 53"])

    static func service(_ name: String, _ spec: JSON, status: JSON = [:]) -> JSON {
        ["apiVersion": "v1", "kind": "Service", "metadata": ["name": .string(name), "namespace": "default"], "spec": spec, "status": status]
    }

    static func slice(_ service: String, ports: JSON, endpoints: [JSON]) -> JSON {
        ["apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
         "metadata": ["name": .string(service + "-x"), "namespace": "default", "labels": ["kubernetes.io/service-name": .string(service)]],
         "ports": ports, "endpoints": .array(endpoints)]
    }

    static func endpoint(_ ip: String, ready: Bool = true, terminating: Bool = false, node: String = "node-a") -> JSON {
        ["addresses": [.string(ip)], "conditions": ["ready": .bool(ready), "serving": true, "terminating": .bool(terminating)],
         "nodeName": .string(node)]
    }

    /// One of each kind the proxy handles.
    static var ports: [ProxyServicePort] {
        let http: JSON = [["name": "http", "port": 8080, "protocol": "TCP"]]
        var out: [ProxyServicePort] = []
        out += ServicePorts.make(service: service("web", ["clusterIP": "10.43.0.20", "ports": [["name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080]]]),
                                 slices: [slice("web", ports: http, endpoints: [endpoint("10.42.0.2"), endpoint("10.42.1.7", node: "node-b"),
                                                                                endpoint("10.42.0.3", ready: false)])])
        out += ServicePorts.make(service: service("empty", ["clusterIP": "10.43.0.21", "ports": [["port": 80, "protocol": "TCP"]]]), slices: [])
        out += ServicePorts.make(service: service("headless", ["clusterIP": "None", "ports": [["port": 80]]]), slices: [])
        out += ServicePorts.make(
            service: service("np", ["clusterIP": "10.43.0.22", "type": "NodePort", "externalTrafficPolicy": "Cluster",
                                    "ports": [["name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080]]]),
            slices: [slice("np", ports: http, endpoints: [endpoint("10.42.1.7", node: "node-b")])])
        out += ServicePorts.make(
            service: service("lb", ["clusterIP": "10.43.0.23", "type": "LoadBalancer", "externalTrafficPolicy": "Local",
                                    "ports": [["name": "http", "port": 443, "protocol": "TCP", "nodePort": 30443]]],
                             status: ["loadBalancer": ["ingress": [["ip": "192.0.2.2"]]]]),
            slices: [slice("lb", ports: http, endpoints: [endpoint("10.42.0.2"), endpoint("10.42.1.7", node: "node-b")])])
        // Local policy and no endpoint on this node: outside traffic dropped, pods and the host served.
        out += ServicePorts.make(
            service: service("elsewhere", ["clusterIP": "10.43.0.29", "type": "NodePort", "externalTrafficPolicy": "Local",
                                           "ports": [["name": "http", "port": 80, "protocol": "TCP", "nodePort": 30081]]]),
            slices: [slice("elsewhere", ports: http, endpoints: [endpoint("10.42.1.7", node: "node-b")])])
        out += ServicePorts.make(
            service: service("sticky", ["clusterIP": "10.43.0.24", "sessionAffinity": "ClientIP",
                                        "sessionAffinityConfig": ["clientIP": ["timeoutSeconds": 600]],
                                        "ports": [["name": "http", "port": 80, "protocol": "TCP"]]]),
            slices: [slice("sticky", ports: http, endpoints: [endpoint("10.42.0.2"), endpoint("10.42.0.3")])])
        out += ServicePorts.make(
            service: service("local", ["clusterIP": "10.43.0.25", "internalTrafficPolicy": "Local", "ports": [["name": "http", "port": 80]]]),
            slices: [slice("local", ports: http, endpoints: [endpoint("10.42.1.7", node: "node-b")])])
        out += ServicePorts.make(
            service: service("draining", ["clusterIP": "10.43.0.26", "ports": [["name": "dns", "port": 53, "protocol": "UDP"]]]),
            slices: [slice("draining", ports: [["name": "dns", "port": 5353, "protocol": "UDP"]],
                           endpoints: [endpoint("10.42.0.2", ready: false, terminating: true)])])
        // Two ports, the same endpoints: the shared maps. Different endpoints: a chain each.
        let twoPorts: JSON = [["name": "http", "port": 80, "protocol": "TCP"], ["name": "metrics", "port": 9090, "protocol": "TCP"]]
        out += ServicePorts.make(
            service: service("multi", ["clusterIP": "10.43.0.27", "ports": twoPorts]),
            slices: [slice("multi", ports: [["name": "http", "port": 8080, "protocol": "TCP"], ["name": "metrics", "port": 9100, "protocol": "TCP"]],
                           endpoints: [endpoint("10.42.0.2"), endpoint("10.42.0.3")])])
        out += ServicePorts.make(
            service: service("split", ["clusterIP": "10.43.0.28", "ports": twoPorts]),
            slices: [slice("split", ports: http, endpoints: [endpoint("10.42.0.2"), endpoint("10.42.0.3")]),
                     slice("split", ports: [["name": "metrics", "port": 9100, "protocol": "TCP"]], endpoints: [endpoint("10.42.0.3")])])
        out += ServicePorts.make(
            service: ["apiVersion": "v1", "kind": "Service", "metadata": ["name": "kube-dns", "namespace": "kube-system"],
                      "spec": ["clusterIP": "10.43.0.10", "ports": [["name": "dns", "port": 53, "protocol": "UDP"], ["name": "dns-tcp", "port": 53, "protocol": "TCP"]]]],
            slices: [])
        return out
    }

    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func checkGolden(_ name: String, _ text: String) throws {
        let url = golden.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["SKIFF_UPDATE_GOLDEN"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        #expect(text == (try String(contentsOf: url, encoding: .utf8)), "\(name) differs from its golden file")
    }

    static func fragments(_ ports: [ProxyServicePort], _ node: ProxyNode) -> [String: ProxyFragment] {
        Dictionary(grouping: ports, by: \.serviceKey).mapValues { ProxyRuleset.fragment($0, node: node) }
    }

    @Test func servicePortsFromObjects() {
        let ports = Self.ports
        #expect(ports.map(\.id) == ["default/web/tcp/http", "default/empty/tcp/80", "default/np/tcp/http", "default/lb/tcp/http",
                                    "default/elsewhere/tcp/http", "default/sticky/tcp/http", "default/local/tcp/http", "default/draining/udp/dns",
                                    "default/multi/tcp/http", "default/multi/tcp/metrics", "default/split/tcp/http",
                                    "default/split/tcp/metrics", "kube-system/kube-dns/udp/dns", "kube-system/kube-dns/tcp/dns-tcp"])
        let web = ports[0]
        #expect(web.endpoints.map(\.ip) == ["10.42.0.2", "10.42.0.3", "10.42.1.7"])
        #expect(web.clusterEndpoints(node: "node-a").map(\.ip) == ["10.42.0.2", "10.42.1.7"])
        #expect(ports[3].externalIPs == ["192.0.2.2"] && ports[3].externalEndpoints(node: "node-a").map(\.ip) == ["10.42.0.2"])
        #expect(ports[5].affinityTimeout == 600)
        // Only terminating endpoints left: they still serve, so traffic drains to them.
        #expect(ports[7].clusterEndpoints(node: "node-a").map { "\($0.ip):\($0.port)" } == ["10.42.0.2:5353"])
    }

    @Test func fullRulesetMatchesGolden() throws {
        try Self.checkGolden("full.nft", ProxyRuleset.render(Self.ports, node: Self.node))
    }

    @Test func changesAreSmallTransactions() throws {
        let node = Self.node
        var ports = Self.ports
        let old = Self.fragments(ports, node)
        // web: one endpoint replaced; empty: gets one; sticky: loses one; np: deleted.
        ports[0].endpoints[2].ip = "10.42.1.8"
        ports[1].endpoints = [ProxyEndpoint(ip: "10.42.0.3", port: 80)]
        ports[5].endpoints.removeLast()
        ports.remove(at: 2)
        let new = Self.fragments(ports, node)
        try Self.checkGolden("update.nft", ProxyRuleset.update(from: old, to: new, selects: 2))
        #expect(ProxyRuleset.update(from: new, to: new, selects: 2).isEmpty)
    }

    /// UDP flows to an endpoint that went away are deleted, and so are those of a port
    /// that just got its first endpoint; TCP needs nothing.
    @Test func staleUDPFlowsAreDeleted() {
        var dns = ProxyServicePort(id: "default/dns/udp/53", proto: "udp", clusterIP: "10.43.0.53", port: 53)
        dns.nodePort = 30053
        dns.endpoints = [ProxyEndpoint(ip: "10.42.0.2", port: 53), ProxyEndpoint(ip: "10.42.0.3", port: 53)]
        var fewer = dns
        fewer.endpoints.removeFirst()
        #expect(Proxier.conntrackDeletions([([dns], [fewer])]) == [
            ["-D", "-p", "udp", "--orig-dst", "10.43.0.53", "--dst-nat", "10.42.0.2"],
            ["-D", "-p", "udp", "--orig-port-dst", "30053", "--dst-nat", "10.42.0.2"]])
        var none = dns
        none.endpoints = []
        #expect(Proxier.conntrackDeletions([([none], [fewer])]) == [["-D", "-p", "udp", "--orig-dst", "10.43.0.53", "--orig-port-dst", "53"]])
        var web = dns
        web.proto = "tcp"
        #expect(Proxier.conntrackDeletions([([web], [])]).isEmpty)
    }

    @Test func largeServicesGetTheirSelectChain() {
        var sp = ProxyServicePort(id: "default/big/tcp/80", proto: "tcp", clusterIP: "10.43.1.1", port: 80)
        sp.endpoints = (1...20).map { ProxyEndpoint(ip: "10.42.2.\($0)", port: 80) }
        let text = ProxyRuleset.update(from: [:], to: [sp.serviceKey: ProxyRuleset.fragment([sp], node: Self.node)], selects: 2)
        #expect(text.contains("add chain ip skiff_proxy select-20\n") && text.contains("add chain ip skiff_proxy select-3\n"))
        #expect(text.contains("add element ip skiff_proxy service-ips { 10.43.1.1 . tcp . 80 : goto select-20 }"))
        #expect(text.contains("add element ip skiff_proxy endpoint-ips { 10.43.1.1 . 19 : 10.42.2.20 }"))
    }
}

/// Root-only: the rendered text loaded by the real nft into a throwaway network namespace.
@Suite(.serialized) struct ProxyRulesetKernelTests {
    static var skipReason: String? {
        if getuid() != 0 { return "needs root (network namespaces, nftables)" }
        if !FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft") { return "/usr/sbin/nft is missing (scripts/setup installs nftables)" }
        return nil
    }

    static func inNamespace(_ name: String, _ body: (@escaping (String) async throws -> String) async throws -> Void) async throws {
        _ = try await ChildProcess.run("/usr/sbin/ip", ["netns", "add", name])
        defer { Task { _ = try? await ChildProcess.run("/usr/sbin/ip", ["netns", "del", name]) } }
        try await body { text in
            let r = try await ChildProcess.run("/usr/sbin/ip", ["netns", "exec", name, "/usr/sbin/nft", "-f", "-"], input: Array(text.utf8))
            guard r.status == 0 else { throw RuntimeError("NFTablesError", r.stderrString) }
            let list = try await ChildProcess.run("/usr/sbin/ip", ["netns", "exec", name, "/usr/sbin/nft", "list", "table", "ip", "skiff_proxy"])
            return list.stdoutString
        }
        _ = try await ChildProcess.run("/usr/sbin/ip", ["netns", "del", name])
    }

    /// The incremental transaction leaves the table exactly as loading the new state whole.
    @Test func updateEqualsFullLoad() async throws {
        if let reason = Self.skipReason {
            print("SKIPPED ProxyRulesetKernelTests.updateEqualsFullLoad: \(reason)")
            return
        }
        let node = ProxyRulesetTests.node
        var ports = ProxyRulesetTests.ports
        let oldByID = ProxyRulesetTests.fragments(ports, node)
        let old = oldByID.keys.sorted().map { oldByID[$0]! }
        ports[0].endpoints[2].ip = "10.42.1.8"
        ports[1].endpoints = [ProxyEndpoint(ip: "10.42.0.3", port: 80)]
        ports[5].endpoints.removeLast()
        ports[5].affinityTimeout = 60
        ports.remove(at: 2)
        let newByID = ProxyRulesetTests.fragments(ports, node)
        let new = newByID.keys.sorted().map { newByID[$0]! }
        try await Self.inNamespace("skiff-proxy-test-\(getpid())") { load in
            _ = try await load(ProxyRuleset.full(old, node: node))
            let updated = try await load(ProxyRuleset.update(from: oldByID, to: newByID, selects: 2))
            let fresh = try await load(ProxyRuleset.full(new, node: node))
            func normalized(_ s: String) -> [String] {
                s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.sorted()
            }
            #expect(normalized(updated) == normalized(fresh))
            #expect(fresh.contains("10.43.0.20 . tcp . 80 : goto select-2"))
            #expect(fresh.contains("10.43.0.28 . tcp . 9090 : goto service-default/split/tcp/metrics"))
        }
    }

    /// The periodic rewrite repairs what changed behind the proxy's back and keeps what
    /// session affinity remembers; otherwise it leaves the table as a full load would.
    @Test func repairRestoresTheTableAndKeepsAffinity() async throws {
        if let reason = Self.skipReason {
            print("SKIPPED ProxyRulesetKernelTests.repairRestoresTheTableAndKeepsAffinity: \(reason)")
            return
        }
        let node = ProxyRulesetTests.node
        let byService = ProxyRulesetTests.fragments(ProxyRulesetTests.ports, node)
        let fragments = byService.keys.sorted().map { byService[$0]! }
        let affinity = "affinity-default/sticky/tcp/http__10.42.0.2/8080"
        try await Self.inNamespace("skiff-proxy-repair-\(getpid())") { load in
            _ = try await load(ProxyRuleset.full(fragments, node: node))
            // Behind the proxy's back: a client remembered, a chain emptied, map elements lost.
            _ = try await load("add element ip skiff_proxy \(affinity) { 192.0.2.77 }\nflush chain ip skiff_proxy services\n"
                               + "flush map ip skiff_proxy endpoint-ips\nflush map ip skiff_proxy no-endpoint-services\n"
                               + "flush map ip skiff_proxy no-endpoint-nodeports\ndelete chain ip skiff_proxy reject-chain\n")
            let repaired = try await load(ProxyRuleset.repair(fragments, node: node))
            #expect(repaired.contains("192.0.2.77"))
            let fresh = try await load(ProxyRuleset.full(fragments, node: node))
            func normalized(_ s: String) -> [String] {
                s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.contains("192.0.2.77") }.sorted()
            }
            #expect(normalized(repaired) == normalized(fresh))
        }
    }
}
