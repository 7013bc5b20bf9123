import SkiffAPI
import SkiffClient
import SkiffCore

/// Empties a namespace marked for deletion: deletes everything in it, resource by
/// resource, and once nothing is left removes the `kubernetes` finalizer, upon which the
/// API server deletes the namespace. Objects that take time to go (pods stopping on a
/// node, objects with finalizers) make it check again a little later.
public final class NamespaceController: Controller {
    public let name = "namespace"
    public let queue = WorkQueue(name: "namespace")
    let client: Client
    let namespaces: Informer
    /// How long to wait before looking again at a namespace whose contents are going.
    let recheck: Duration

    public init(factory: InformerFactory, recheck: Duration = .seconds(1)) {
        client = factory.client
        namespaces = factory.informer(.namespaces)
        self.recheck = recheck
        namespaces.addHandler { [queue] e in
            switch e {
            case .added(let o), .updated(_, let o):
                if o.deletionTimestamp != nil { queue.add(objectKey(o)) }
            case .deleted: break
            }
        }
    }

    public func sync(key: String) async throws {
        guard let ns = namespaces.indexer.get(key), ns.deletionTimestamp != nil else { return }
        var remaining = 0
        // Only what can be deleted, as upstream's deleter filters discovery (metrics.k8s.io
        // pods are listable, not deletable: they go with the pods).
        for (resource, verbs) in try await client.serverResources() where resource.namespaced && verbs.contains("list") && verbs.contains("delete") {
            if verbs.contains("deletecollection") {
                try await client.deleteCollection(resource, namespace: key)
            }
            let left = try await client.list(resource, namespace: key).items
            if !verbs.contains("deletecollection"), verbs.contains("delete") {
                for o in left { try await client.delete(resource, namespace: key, o.name ?? "", ignoreNotFound: true) }
            }
            remaining += left.count
        }
        if remaining > 0 {
            queue.add(key, after: recheck)
            return
        }
        var finalized = ns
        let finalizers = (ns[path: ["spec", "finalizers"]]?.arrayValue ?? []).filter { $0 != "kubernetes" }
        finalized[path: ["spec", "finalizers"]] = .array(finalizers)
        do {
            try await client.update(.namespaces, finalized, subresource: "finalize")
        } catch let e as ClientError where e.isNotFound {}
    }
}
