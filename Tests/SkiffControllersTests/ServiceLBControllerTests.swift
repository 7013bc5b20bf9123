import SkiffAPI
import SkiffClient
import SkiffControllers
import SkiffCore
import Testing

@Suite struct ServiceLBControllerTests {
    static func node(_ name: String, ip: String, ready: Bool) -> JSON {
        ["apiVersion": "v1", "kind": "Node", "metadata": ["name": .string(name)],
         "status": ["addresses": [["type": "InternalIP", "address": .string(ip)]],
                    "conditions": [["type": "Ready", "status": .string(ready ? "True" : "False")]]]]
    }

    /// Ready nodes' InternalIPs become the ingress; a node going NotReady leaves it; a
    /// Service that stops being a LoadBalancer loses it.
    @Test func loadBalancersGetTheirReadyNodesAddresses() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let factory = InformerFactory(client: c.client)
        let controller = ServiceLBController(factory: factory)
        let run = startAfterSync(factory) { await controller.run(workers: 1) }
        defer { run.cancel() }
        for n in [Self.node("a", ip: "192.0.2.11", ready: true), Self.node("b", ip: "192.0.2.12", ready: true)] {
            var created = try await c.client.create(.nodes, n)
            created["status"] = n["status"]
            _ = try await c.client.update(.nodes, created, subresource: "status")
        }
        _ = try await c.client.create(.services, namespace: "default", [
            "apiVersion": "v1", "kind": "Service", "metadata": ["name": "lb"],
            "spec": ["type": "LoadBalancer", "selector": ["app": "web"], "ports": [["port": 80]]]])
        func ingress() async throws -> [String] {
            let s = try await c.client.get(.services, namespace: "default", "lb")
            return (s[path: ["status", "loadBalancer", "ingress"]]?.arrayValue ?? []).compactMap { $0["ip"]?.stringValue }
        }
        try await eventually("both nodes' addresses") { try await ingress() == ["192.0.2.11", "192.0.2.12"] }
        var b = try await c.client.get(.nodes, "b")
        b["status"] = Self.node("b", ip: "192.0.2.12", ready: false)["status"]
        _ = try await c.client.update(.nodes, b, subresource: "status")
        try await eventually("the NotReady node's address gone") { try await ingress() == ["192.0.2.11"] }
        var svc = try await c.client.get(.services, namespace: "default", "lb")
        svc[path: ["spec", "type"]] = "ClusterIP"
        _ = try await c.client.update(.services, svc)
        try await eventually("no ingress for a ClusterIP Service") { try await ingress().isEmpty }
    }
}
