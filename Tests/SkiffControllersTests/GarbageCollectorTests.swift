import SkiffAPI
import SkiffClient
import SkiffControllers
import SkiffCore
import Testing

@Suite struct GarbageCollectorTests {
    /// The whole controller manager, as the server runs it.
    func withControllers(_ body: (Cluster) async throws -> Void) async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let run = Task { await runControllerManager(c.client) }
        defer { run.cancel() }
        try await body(c)
    }

    func pods(_ c: Cluster) async throws -> [JSON] {
        try await c.client.list(.pods, namespace: "default").items
    }

    func gone(_ c: Cluster, _ r: Resource, _ name: String) async throws -> Bool {
        do {
            _ = try await c.client.get(r, namespace: "default", name)
            return false
        } catch let e as ClientError where e.isNotFound {
            return true
        }
    }

    @Test func backgroundDeletionRemovesDependents() async throws {
        try await withControllers { c in
            try await c.client.create(.replicaSets, namespace: "default", replicaSetJSON)
            try await eventually("3 pods") { try await pods(c).count == 3 }
            try await c.client.delete(.replicaSets, namespace: "default", "web", propagationPolicy: "Background")
            try await eventually("pods collected") { try await pods(c).isEmpty }
        }
    }

    @Test func orphanDeletionKeepsDependentsAndUnlinksThem() async throws {
        try await withControllers { c in
            try await c.client.create(.replicaSets, namespace: "default", replicaSetJSON)
            try await eventually("3 pods") { try await pods(c).count == 3 }
            try await c.client.delete(.replicaSets, namespace: "default", "web", propagationPolicy: "Orphan")
            try await eventually("owner gone") { try await gone(c, .replicaSets, "web") }
            let left = try await pods(c)
            #expect(left.count == 3)
            #expect(left.allSatisfy { $0.ownerReferences.isEmpty })
        }
    }

    @Test func foregroundDeletionRemovesDependentsFirst() async throws {
        try await withControllers { c in
            try await c.client.create(.replicaSets, namespace: "default", replicaSetJSON)
            try await eventually("3 pods") { try await pods(c).count == 3 }
            try await c.client.delete(.replicaSets, namespace: "default", "web", propagationPolicy: "Foreground")
            try await eventually("owner and dependents gone") {
                let ownerGone = try await gone(c, .replicaSets, "web")
                return try await pods(c).isEmpty && ownerGone
            }
        }
    }

    @Test func anObjectWhoseOwnerNeverExistedIsCollected() async throws {
        try await withControllers { c in
            let configMaps = Resource(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true)
            try await c.client.create(configMaps, namespace: "default", [
                "metadata": ["name": "dangling", "ownerReferences": [["apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "nope", "uid": "no-such-uid"]]],
            ])
            try await c.client.create(configMaps, namespace: "default", ["metadata": ["name": "unowned"]])
            try await eventually("dangling collected") { try await gone(c, configMaps, "dangling") }
            #expect(try await !gone(c, configMaps, "unowned"))
        }
    }
}
