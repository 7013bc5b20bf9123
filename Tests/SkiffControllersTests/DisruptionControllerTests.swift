import SkiffAPI
import SkiffClient
import SkiffControllers
import SkiffCore
import Testing

@Suite struct DisruptionControllerTests {
    func budget(_ c: Cluster, _ name: String) async throws -> JSON {
        try await c.client.get(.podDisruptionBudgets, namespace: "default", name)
    }

    @Test func percentagesResolveAgainstTheControllersScale() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let factory = InformerFactory(client: c.client)
        let controllers: [any Controller] = [ReplicaSetController(factory: factory), DisruptionController(factory: factory)]
        let run = startAfterSync(factory) {
            await withTaskGroup(of: Void.self) { g in
                for controller in controllers { g.addTask { await controller.run(workers: 1) } }
                g.addTask { await readyAllPods(c.client) }
            }
        }
        defer { run.cancel() }
        var rs = replicaSetJSON
        rs[path: ["spec", "replicas"]] = 4
        try await c.client.create(.replicaSets, namespace: "default", rs)
        try await c.client.create(.podDisruptionBudgets, namespace: "default", [
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": ["name": "half"],
            "spec": ["selector": ["matchLabels": ["app": "web"]], "maxUnavailable": "50%"]])
        try await eventually("4 healthy of 4 expected, 2 allowed") {
            let s = try await budget(c, "half")["status"]
            return s?["currentHealthy"] == 4 && s?["expectedPods"] == 4 && s?["desiredHealthy"] == 2 && s?["disruptionsAllowed"] == 2
                && s?["observedGeneration"] == 1
        }
        // Scaling the controller changes what the budget expects.
        try await c.client.patch(.replicaSets, namespace: "default", "web", merge: ["spec": ["replicas": 2]])
        try await eventually("2 expected, 1 allowed") {
            let s = try await budget(c, "half")["status"]
            return s?["expectedPods"] == 2 && s?["desiredHealthy"] == 1 && s?["disruptionsAllowed"] == 1 && s?["currentHealthy"] == 2
        }
        // A selected pod with no controller: a percentage cannot be resolved; nothing is allowed.
        try await c.client.create(.pods, namespace: "default", ["apiVersion": "v1", "kind": "Pod",
                                                                 "metadata": ["name": "stray", "labels": ["tier": "front"]],
                                                                 "spec": ["containers": [["name": "c", "image": "nginx"]]]])
        try await c.client.patch(.podDisruptionBudgets, namespace: "default", "half", merge: ["spec": ["selector": ["matchLabels": ["app": nil, "tier": "front"]]]])
        try await eventually("no disruptions allowed") {
            let s = try await budget(c, "half")["status"]
            let condition = s?["conditions"]?.arrayValue?.first { $0["type"] == "DisruptionAllowed" }
            return s?["disruptionsAllowed"] == 0 && condition?["reason"] == "InsufficientPods"
        }
    }
}
