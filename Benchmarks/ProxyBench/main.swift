import Foundation
import SkiffCore
import SkiffProxy
import SkiffRuntime

/// Renders and loads the proxy's ruleset for 1,000 and 10,000 Services of 10 endpoints
/// each into a throwaway network namespace with the real nft, then applies single
/// endpoint changes at that size. Prints JSON. Needs root.
@main struct ProxyBench {
    static func ports(_ count: Int, endpoints: Int) -> [ProxyServicePort] {
        (0..<count).map { s in
            var sp = ProxyServicePort(id: "ns\(s % 50)/svc\(s)/tcp/http", proto: "tcp",
                                      clusterIP: IPv4CIDR.format(0x0A2B_0000 + UInt32(s) + 100), port: 80)
            sp.endpoints = (0..<endpoints).map { e in
                ProxyEndpoint(ip: IPv4CIDR.format(0x0A2A_0000 + UInt32(s * endpoints + e) + 2), port: 8080, nodeName: "node-\(e % 5)")
            }
            return sp
        }
    }

    static func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
    static func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }

    static func main() async throws {
        guard getuid() == 0 else {
            FileHandle.standardError.write("ProxyBench needs root (a network namespace and nft)\n".data(using: .utf8)!)
            exit(2)
        }
        let namespace = "skiff-proxybench-\(getpid())"
        _ = try await ChildProcess.run("/usr/sbin/ip", ["netns", "add", namespace])
        defer { _ = try? FileManager.default.removeItem(atPath: "/run/netns/\(namespace)") }
        func apply(_ text: String) async throws -> Duration {
            let start = ContinuousClock.now
            let r = try await ChildProcess.run("/usr/sbin/ip", ["netns", "exec", namespace, "/usr/sbin/nft", "-f", "-"], input: Array(text.utf8))
            guard r.status == 0 else { throw RuntimeError("NFTablesError", r.stderrString) }
            return ContinuousClock.now - start
        }
        let node = ProxyNode(name: "node-0", clusterCIDR: "10.42.0.0/16", serviceCIDR: "10.43.0.0/16", podCIDR: "10.42.0.0/24")
        var results: [String] = []
        for count in [1_000, 10_000] {
            var ports = ports(count, endpoints: 10)
            var renders: [Double] = [], applies: [Double] = [], bytes = 0
            for _ in 0..<3 {
                let start = ContinuousClock.now
                let text = ProxyRuleset.render(ports, node: node)
                renders.append(ms(ContinuousClock.now - start))
                bytes = text.utf8.count
                applies.append(ms(try await apply(text)))
            }
            // One endpoint of one Service replaced, 20 times: render the difference and apply it.
            var changes: [Double] = [], changeBytes = 0
            var fragments = Dictionary(uniqueKeysWithValues: ports.map { ($0.serviceKey, ProxyRuleset.fragment([$0], node: node)) })
            for i in 0..<20 {
                let start = ContinuousClock.now
                let s = (i * 7919) % count
                ports[s].endpoints[i % 10].ip = "10.44.\(i / 250).\(i % 250 + 1)"
                let key = ports[s].serviceKey
                let new = ProxyRuleset.fragment([ports[s]], node: node)
                let text = ProxyRuleset.update(from: [key: fragments[key]!], to: [key: new], selects: 10)
                _ = try await apply(text)
                changes.append(ms(ContinuousClock.now - start))
                changeBytes = text.utf8.count
                fragments[key] = new
            }
            let total = zip(renders, applies).map { $0 + $1 }
            results.append("""
            {"services": \(count), "endpoints_per_service": 10, "ruleset_bytes": \(bytes), \
            "render_ms_median": \(String(format: "%.1f", median(renders))), "apply_ms_median": \(String(format: "%.1f", median(applies))), \
            "render_plus_apply_ms_median": \(String(format: "%.1f", median(total))), \
            "endpoint_change_ms_median": \(String(format: "%.1f", median(changes))), "endpoint_change_ms_max": \(String(format: "%.1f", changes.max()!)), \
            "endpoint_change_bytes": \(changeBytes)}
            """)
        }
        _ = try await ChildProcess.run("/usr/sbin/ip", ["netns", "del", namespace])
        print("{\"proxy\": [\n  " + results.joined(separator: ",\n  ") + "\n]}")
    }
}
