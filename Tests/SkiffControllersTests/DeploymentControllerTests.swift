import SkiffAPI
import SkiffClient
@testable import SkiffControllers
import SkiffCore
import Testing

func deploymentJSON(image: String = "nginx:1", strategy: JSON? = nil) -> JSON {
    var d: JSON = [
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "web"],
        "spec": ["replicas": 3, "selector": ["matchLabels": ["app": "web"]],
                 "template": ["metadata": ["labels": ["app": "web"]],
                              "spec": ["containers": [["name": "c", "image": .string(image)]]]]],
    ]
    if let strategy { d[path: ["spec", "strategy"]] = strategy }
    return d
}

@Suite struct DeploymentControllerTests {
    /// The controller manager and a stand-in kubelet that makes every pod ready.
    func withControllers(kubelet: Bool = true, _ body: (Cluster) async throws -> Void) async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let run = Task { await runControllerManager(c.client) }
        defer { run.cancel() }
        let pods = Task { if kubelet { await readyAllPods(c.client) } }
        defer { pods.cancel() }
        try await body(c)
    }

    func replicaSets(_ c: Cluster) async throws -> [JSON] {
        try await c.client.list(.replicaSets, namespace: "default").items
    }

    func image(_ rs: JSON) -> String? { rs[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first?["image"]?.stringValue }

    func deployment(_ c: Cluster) async throws -> JSON { try await c.client.get(.deployments, namespace: "default", "web") }

    func complete(_ d: JSON) -> Bool {
        d[path: ["status", "observedGeneration"]]?.int64Value == d.generation
            && d[path: ["status", "updatedReplicas"]] == d[path: ["spec", "replicas"]]
            && d[path: ["status", "replicas"]] == d[path: ["spec", "replicas"]]
            && d[path: ["status", "availableReplicas"]] == d[path: ["spec", "replicas"]]
    }

    @Test func rollsOutAndReportsAvailability() async throws {
        try await withControllers { c in
            try await c.client.create(.deployments, namespace: "default", deploymentJSON())
            try await eventually("rollout complete") { try await complete(deployment(c)) }
            let sets = try await replicaSets(c)
            #expect(sets.count == 1)
            let rs = try #require(sets.first)
            let hash = try #require(rs.labels["pod-template-hash"])
            #expect(rs.name == "web-\(hash)")
            #expect(rs.annotations["deployment.kubernetes.io/revision"] == "1")
            #expect(rs[path: ["spec", "selector", "matchLabels", "pod-template-hash"]]?.stringValue == hash)
            let d = try await deployment(c)
            let conditions = d[path: ["status", "conditions"]]?.arrayValue ?? []
            #expect(conditions.contains { $0["type"] == "Available" && $0["status"] == "True" })
            #expect(conditions.contains { $0["type"] == "Progressing" && $0["reason"] == "NewReplicaSetAvailable" })
        }
    }

    @Test func rollingUpdateReplacesPodsThenRollsBack() async throws {
        try await withControllers { c in
            try await c.client.create(.deployments, namespace: "default", deploymentJSON())
            try await eventually("first rollout") { try await complete(deployment(c)) }
            try await c.client.patch(.deployments, namespace: "default", "web",
                                     merge: ["spec": ["template": ["spec": ["containers": [["name": "c", "image": "nginx:2"]]]]]])
            try await eventually("second rollout") {
                let d = try await deployment(c)
                let sets = try await replicaSets(c)
                return complete(d) && sets.count == 2
                    && sets.contains { image($0) == "nginx:2" && $0[path: ["spec", "replicas"]] == 3 && $0.annotations["deployment.kubernetes.io/revision"] == "2" }
                    && sets.contains { image($0) == "nginx:1" && $0[path: ["spec", "replicas"]] == 0 }
            }
            // Never more than replicas + maxSurge (25% of 3, rounded up: 1) pods at once is
            // upstream's rule; the pods left are the new template's.
            let pods = try await c.client.list(.pods, namespace: "default").items.filter { $0.deletionTimestamp == nil }
            #expect(pods.count == 3)
            // Rolling back to the first template reuses its ReplicaSet as revision 3.
            try await c.client.patch(.deployments, namespace: "default", "web",
                                     merge: ["spec": ["template": ["spec": ["containers": [["name": "c", "image": "nginx:1"]]]]]])
            try await eventually("rolled back") {
                let d = try await deployment(c)
                let sets = try await replicaSets(c)
                return complete(d) && sets.count == 2
                    && sets.contains { image($0) == "nginx:1" && $0[path: ["spec", "replicas"]] == 3 && $0.annotations["deployment.kubernetes.io/revision"] == "3" }
            }
        }
    }

    @Test func recreateStopsOldPodsFirst() async throws {
        try await withControllers { c in
            try await c.client.create(.deployments, namespace: "default", deploymentJSON(strategy: ["type": "Recreate"]))
            try await eventually("first rollout") { try await complete(deployment(c)) }
            try await c.client.patch(.deployments, namespace: "default", "web",
                                     merge: ["spec": ["template": ["spec": ["containers": [["name": "c", "image": "nginx:2"]]]]]])
            try await eventually("second rollout") {
                let sets = try await replicaSets(c)
                return try await complete(deployment(c)) && sets.contains { image($0) == "nginx:2" && $0[path: ["spec", "replicas"]] == 3 }
            }
        }
    }

    @Test func pausedDeploymentsDoNotRollOut() async throws {
        try await withControllers { c in
            try await c.client.create(.deployments, namespace: "default", deploymentJSON())
            try await eventually("first rollout") { try await complete(deployment(c)) }
            try await c.client.patch(.deployments, namespace: "default", "web", merge: ["spec": ["paused": true]])
            try await c.client.patch(.deployments, namespace: "default", "web",
                                     merge: ["spec": ["template": ["spec": ["containers": [["name": "c", "image": "nginx:2"]]]]]])
            try await eventually("paused condition") {
                let d = try await deployment(c)
                return d[path: ["status", "conditions"]]?.arrayValue?.contains { $0["reason"] == "DeploymentPaused" } == true
            }
            #expect(try await replicaSets(c).count == 1)
            try await c.client.patch(.deployments, namespace: "default", "web", merge: ["spec": ["paused": false]])
            try await eventually("resumed rollout") {
                let sets = try await replicaSets(c)
                return try await complete(deployment(c)) && sets.count == 2
            }
        }
    }

    @Test func podTemplateHashIsStableAndUsesUpstreamsAlphabet() {
        let t: JSON = ["metadata": ["labels": ["app": "web"]], "spec": ["containers": [["name": "c", "image": "nginx"]]]]
        let reordered: JSON = ["spec": ["containers": [["image": "nginx", "name": "c"]]], "metadata": ["labels": ["app": "web"]]]
        let h = DeploymentController.templateHash(t, collisionCount: 0)
        #expect(h == DeploymentController.templateHash(reordered, collisionCount: 0))
        #expect(h != DeploymentController.templateHash(t, collisionCount: 1))
        #expect(h.allSatisfy { "bcdfghjklmnpqrstvwxz2456789".contains($0) })
    }
}
