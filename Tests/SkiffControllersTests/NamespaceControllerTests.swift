import SkiffAPI
import SkiffClient
import SkiffControllers
import SkiffCore
import Testing

@Suite struct NamespaceControllerTests {
    @Test func deletingANamespaceDeletesItsContentsThenItself() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let factory = InformerFactory(client: c.client)
        let controller = NamespaceController(factory: factory, recheck: .milliseconds(20))
        let run = startAfterSync(factory) { await controller.run(workers: 1) }
        defer { run.cancel() }
        try await c.client.create(.namespaces, ["metadata": ["name": "doomed"]])
        let configMaps = Resource(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true)
        try await c.client.create(configMaps, namespace: "doomed", ["metadata": ["name": "a"]])
        try await c.client.create(.replicaSets, namespace: "doomed", replicaSetJSON)
        // A finalizer holds one object back: the namespace waits for it.
        try await c.client.create(configMaps, namespace: "doomed", ["metadata": ["name": "held", "finalizers": ["example.com/hold"]]])
        try await c.client.delete(.namespaces, "doomed")
        try await eventually("contents but the held object gone") {
            let left = try await c.client.list(configMaps, namespace: "doomed").items
            let sets = try await c.client.list(.replicaSets, namespace: "doomed").items
            return left.count == 1 && sets.isEmpty
        }
        #expect(try await c.client.get(.namespaces, "doomed")[path: ["status", "phase"]] == "Terminating")
        try await c.client.patch(configMaps, namespace: "doomed", "held", merge: ["metadata": ["finalizers": nil]])
        try await eventually("namespace gone") {
            do {
                _ = try await c.client.get(.namespaces, "doomed")
                return false
            } catch let e as ClientError where e.isNotFound {
                return true
            }
        }
    }
}
