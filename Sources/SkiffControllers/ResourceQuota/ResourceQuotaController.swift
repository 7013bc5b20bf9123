import SkiffAPI
import SkiffClient
import SkiffCore

/// Counts what each ResourceQuota's namespace really uses and writes it to status.used
/// (and spec.hard to status.hard), as upstream's resourcequota controller: admission
/// charges creates as they come, this recount gives back what was deleted. Pods are
/// followed by informer; other kinds are recounted on a periodic sync.
public final class ResourceQuotaController: Controller {
    public let name = "resourcequota"
    public let queue = WorkQueue(name: "resourcequota")
    let client: Client
    let quotas: Informer
    let pods: Informer
    /// How often quotas over other kinds than pods are recounted.
    let resync: Duration

    public init(factory: InformerFactory, resync: Duration = .seconds(30)) {
        client = factory.client
        quotas = factory.informer(.resourceQuotas)
        pods = factory.informer(.pods)
        self.resync = resync
        // Status updates are ignored, as upstream: most are admission's charges, and a
        // recount run for one could read the pod cache before it holds the very pod
        // being charged, giving the charge back and letting the next create exceed.
        quotas.addHandler { [queue] e in
            switch e {
            case .added(let q): queue.add(objectKey(q))
            case .updated(let old, let new) where old["spec"] != new["spec"]: queue.add(objectKey(new))
            default: break
            }
        }
        pods.addHandler { [weak self] e in
            switch e {
            case .deleted(let p): self?.enqueueQuotas(in: p.namespace)
            case .updated(let old, let new) where ResourceQuotas.counts(pod: old) != ResourceQuotas.counts(pod: new)
                || old.deletionTimestamp != new.deletionTimestamp:
                self?.enqueueQuotas(in: new.namespace)
            default: break
            }
        }
    }

    func enqueueQuotas(in namespace: String?) {
        for q in quotas.indexer.list(namespace: namespace ?? "") { queue.add(objectKey(q)) }
    }

    public func sync(key: String) async throws {
        guard let quota = quotas.indexer.get(key) else { return }
        let namespace = quota.namespace ?? ""
        let hard = quota[path: ["spec", "hard"]]?.objectValue ?? JSONObject()
        var sources: Set<String> = []
        for k in hard.keys { if let s = ResourceQuotas.source(of: k) { sources.insert("\(s.resource)|\(s.group)") } }
        var used: [String: Quantity] = [:]
        for k in hard.keys { used[k] = .zero }
        for source in sources.sorted() {
            let parts = source.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            let (resource, group) = (parts[0], parts[1])
            let objects = resource == "pods" && group.isEmpty
                ? pods.indexer.list(namespace: namespace)
                : try await client.list(Resource(group: group, version: "v1", plural: resource, kind: "", namespaced: true), namespace: namespace).items
            for o in objects where ResourceQuotas.scopesMatch(quota, o, isPod: resource == "pods" && group.isEmpty) {
                for (k, q) in ResourceQuotas.usage(of: o, resource: resource, group: group) where used[k] != nil { used[k]? += q }
            }
        }
        var next = quota
        next[path: ["status", "hard"]] = .object(hard)
        next[path: ["status", "used"]] = .object(JSONObject(used.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) }))
        if next["status"] != quota["status"] {
            do {
                try await client.update(.resourceQuotas, next, subresource: "status")
            } catch let e as ClientError where e.isNotFound {}
        }
        // A charge for a create that then failed is given back at the latest here.
        queue.add(key, after: sources.contains(where: { $0 != "pods|" }) ? resync : .seconds(300))
    }
}
