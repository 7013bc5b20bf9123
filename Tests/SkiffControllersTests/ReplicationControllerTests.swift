import SkiffAPI
import SkiffClient
import SkiffControllers
import SkiffCore
import Testing

/// The ReplicaSet controller serving ReplicationControllers: a map selector, its own kind.
@Suite struct ReplicationControllerTests {
    @Test func keepsReplicasWithAMapSelectorAndReportsStatus() async throws {
        let cluster = try await Cluster.start()
        defer { cluster.stop() }
        let factory = InformerFactory(client: cluster.client)
        let controller = ReplicaSetController(factory: factory, kind: .replicationController)
        let run = startAfterSync(factory) { await controller.run(workers: 2) }
        defer { run.cancel() }
        let readying = Task { await readyAllPods(cluster.client) }
        defer { readying.cancel() }
        let client = cluster.client
        func pods() async throws -> [JSON] { try await client.list(.pods, namespace: "default").items.filter { $0.deletionTimestamp == nil } }

        // An orphan the selector matches is adopted; a ReplicaSet-style selector is not needed.
        try await client.create(.pods, namespace: "default", ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "stray", "labels": ["app": "rc"]],
                                                               "spec": ["containers": [["name": "c", "image": "nginx"]]]])
        let rc = try await client.create(.replicationControllers, namespace: "default", [
            "apiVersion": "v1", "kind": "ReplicationController", "metadata": ["name": "rc"],
            "spec": ["replicas": 3, "selector": ["app": "rc"],
                     "template": ["metadata": ["labels": ["app": "rc"]], "spec": ["containers": [["name": "c", "image": "nginx"]]]]],
        ])
        try await eventually("3 pods, the orphan among them") {
            let all = try await pods()
            return all.count == 3 && all.allSatisfy { $0.ownerReferences.first?["uid"]?.stringValue == rc.uid }
        }
        let ref = try #require(try await pods().first?.ownerReferences.first)
        #expect(ref["kind"] == "ReplicationController" && ref["apiVersion"] == "v1" && ref["controller"] == true)
        try await eventually("status") {
            let now = try await client.get(.replicationControllers, namespace: "default", "rc")
            return now[path: ["status", "replicas"]] == 3 && now[path: ["status", "readyReplicas"]] == 3
                && now[path: ["status", "availableReplicas"]] == 3 && now[path: ["status", "observedGeneration"]] == 1
        }
        try await client.patch(.replicationControllers, namespace: "default", "rc", merge: ["spec": ["replicas": 1]], subresource: "scale")
        try await eventually("scaled to 1") { try await pods().count == 1 }
        // Events as upstream's replication-controller records them: two made, two removed.
        try await eventually("events") {
            let events = try await client.list(.events, namespace: "default").items.filter { $0[path: ["involvedObject", "uid"]]?.stringValue == rc.uid }
            return events.filter { $0["reason"] == "SuccessfulCreate" && $0["message"]?.stringValue?.hasPrefix("Created pod: rc-") == true }.count == 2
                && events.filter { $0["reason"] == "SuccessfulDelete" && $0["message"]?.stringValue?.hasPrefix("Deleted pod: ") == true }.count == 2
                && events.allSatisfy { $0[path: ["source", "component"]] == "replication-controller" && $0[path: ["involvedObject", "kind"]] == "ReplicationController" }
        }
    }
}
