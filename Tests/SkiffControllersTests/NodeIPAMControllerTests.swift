import SkiffAPI
import SkiffClient
import SkiffControllers
import SkiffCore
import Testing

@Suite struct NodeIPAMControllerTests {
    func node(_ name: String, podCIDR: String? = nil) -> JSON {
        var n: JSON = ["apiVersion": "v1", "kind": "Node", "metadata": ["name": .string(name)]]
        if let podCIDR { n["spec"] = ["podCIDR": .string(podCIDR), "podCIDRs": [.string(podCIDR)]] }
        return n
    }

    func podCIDR(_ c: Cluster, _ name: String) async throws -> String? {
        try await c.client.get(.nodes, name)[path: ["spec", "podCIDR"]]?.stringValue
    }

    @Test func eachNodeGetsItsOwnRangeAndADeletedNodesRangeIsReused() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        // A /23 holds two /24s; one is taken by a node that brought its own.
        try await c.client.create(.nodes, node("own", podCIDR: "10.9.0.0/24"))
        let factory = InformerFactory(client: c.client)
        let controller = NodeIPAMController(factory: factory, clusterCIDR: try #require(IPv4CIDR("10.9.0.0/23")))
        let run = startAfterSync(factory) { await controller.run(workers: 2) }
        defer { run.cancel() }
        try await c.client.create(.nodes, node("a"))
        try await eventually("a gets the free range") { try await podCIDR(c, "a") == "10.9.1.0/24" }
        #expect(try await c.client.get(.nodes, "a")[path: ["spec", "podCIDRs"]] == ["10.9.1.0/24"])
        try await c.client.create(.nodes, node("b"))
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await podCIDR(c, "b") == nil, "the range is exhausted")
        try await c.client.delete(.nodes, "own")
        try await eventually("b gets the range freed by the deleted node") { try await podCIDR(c, "b") == "10.9.0.0/24" }
    }
}
