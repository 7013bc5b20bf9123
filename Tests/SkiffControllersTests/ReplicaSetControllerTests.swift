import SkiffAPI
import SkiffClient
import SkiffControllers
import SkiffCore
import Testing

let replicaSetJSON: JSON = [
    "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": ["name": "web"],
    "spec": ["replicas": 3, "selector": ["matchLabels": ["app": "web"]],
             "template": ["metadata": ["labels": ["app": "web", "tier": "front"]],
                          "spec": ["containers": [["name": "c", "image": "nginx"]]]]],
]

@Suite struct ReplicaSetControllerTests {
    /// Runs the controller against a live in-process API.
    func withController(_ body: (Cluster, ReplicaSetController) async throws -> Void) async throws {
        let cluster = try await Cluster.start()
        defer { cluster.stop() }
        let factory = InformerFactory(client: cluster.client)
        let controller = ReplicaSetController(factory: factory)
        let run = startAfterSync(factory) { await controller.run(workers: 2) }
        defer { run.cancel() }
        try await body(cluster, controller)
    }

    func pods(_ c: Cluster) async throws -> [JSON] {
        try await c.client.list(.pods, namespace: "default").items.filter { $0.deletionTimestamp == nil }
    }

    @Test func createsPodsFromTheTemplateAndReportsStatus() async throws {
        try await withController { c, _ in
            let rs = try await c.client.create(.replicaSets, namespace: "default", replicaSetJSON)
            try await eventually("3 pods") { try await pods(c).count == 3 }
            let all = try await pods(c)
            for p in all {
                #expect(p.name?.hasPrefix("web-") == true)
                #expect(p.labels == ["app": "web", "tier": "front"])
                let ref = p.ownerReferences.first
                #expect(ref?["uid"]?.stringValue == rs.uid)
                #expect(ref?["controller"] == true)
                #expect(ref?["kind"] == "ReplicaSet")
            }
            try await eventually("status.replicas 3") {
                let now = try await c.client.get(.replicaSets, namespace: "default", "web")
                return now[path: ["status", "replicas"]] == 3 && now[path: ["status", "fullyLabeledReplicas"]] == 3
                    && now[path: ["status", "observedGeneration"]] == 1 && now[path: ["status", "readyReplicas"]] == JSON?.none
            }
        }
    }

    @Test func scalesDownDeletingUnscheduledAndNewestFirst() async throws {
        try await withController { c, _ in
            try await c.client.create(.replicaSets, namespace: "default", replicaSetJSON)
            try await eventually("3 pods") { try await pods(c).count == 3 }
            // One pod is scheduled (bound to a node): it is the most valuable and stays.
            let bound = try #require(try await pods(c).first)
            let binding: JSON = ["apiVersion": "v1", "kind": "Binding", "metadata": ["name": .string(bound.name ?? "")],
                                 "target": ["kind": "Node", "name": "n1"]]
            let r = try await c.client.transport.send(ClientRequest(method: "POST", path: Resource.pods.path(namespace: "default", name: bound.name, subresource: "binding"),
                                                                    body: binding.serialized()))
            #expect(r.status == 201)
            try await c.client.patch(.replicaSets, namespace: "default", "web", merge: ["spec": ["replicas": 1]])
            try await eventually("only the scheduled pod left") {
                let all = try await pods(c)
                return all.count == 1 && all.first?.name == bound.name
            }
        }
    }

    @Test func replacesDeletedPodsAndAdoptsOrphans() async throws {
        try await withController { c, _ in
            // An orphan that matches the selector is adopted rather than a new pod made.
            try await c.client.create(.pods, namespace: "default", ["apiVersion": "v1", "kind": "Pod",
                                                                     "metadata": ["name": "stray", "labels": ["app": "web"]],
                                                                     "spec": ["containers": [["name": "c", "image": "nginx"]]]])
            let rs = try await c.client.create(.replicaSets, namespace: "default", replicaSetJSON)
            try await eventually("3 pods, the orphan adopted") {
                let all = try await pods(c)
                return all.count == 3 && all.contains { $0.name == "stray" && $0.ownerReferences.first?["uid"]?.stringValue == rs.uid }
            }
            let victim = try #require(try await pods(c).first { $0.name != "stray" })
            try await c.client.delete(.pods, namespace: "default", victim.name ?? "")
            try await eventually("replaced") {
                let all = try await pods(c)
                return all.count == 3 && !all.contains { $0.name == victim.name }
            }
        }
    }
}
