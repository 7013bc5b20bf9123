import SkiffAPI
import SkiffClient
import SkiffCore
import Synchronization
import Testing

@Suite struct InformerTests {
    @Test func indexesByControllerAndResyncs() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let owner: JSON = ["apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "owner-uid", "controller": true]
        func pod(_ name: String, _ refs: [JSON]) -> JSON {
            ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "ownerReferences": .array(refs)],
             "spec": ["containers": [["name": "c", "image": "nginx"]]]]
        }
        var notController = owner
        notController["controller"] = false
        notController["uid"] = "other-uid"
        try await c.client.create(.pods, namespace: "default", pod("owned", [owner]))
        try await c.client.create(.pods, namespace: "default", pod("orphan", [notController]))
        let informer = Informer(client: c.client, resource: .pods)
        informer.indexer.indexByController()
        informer.resync(every: .milliseconds(50))
        let resyncs = Mutex(0)
        informer.addHandler { e in
            if case .updated(let old, let new) = e, old.resourceVersion == new.resourceVersion { resyncs.withLock { $0 += 1 } }
        }
        let run = Task { await informer.run() }
        defer { run.cancel() }
        await informer.waitForSync()
        #expect(informer.indexer.byIndex(Indexer.byController, "owner-uid").map(\.name) == ["owned"])
        #expect(informer.indexer.byIndex(Indexer.byController, "").map(\.name) == ["orphan"])
        #expect(informer.indexer.byIndex(Indexer.byController, "other-uid").isEmpty)
        try await eventually("every object told again") { resyncs.withLock { $0 } >= 4 }
    }
}
