import SkiffAPI
import SkiffClient
import SkiffCore

/// Keeps each PodDisruptionBudget's status current, as upstream's disruption controller:
/// how many selected pods are expected (from minAvailable, or from the scale of the
/// pods' controllers for percentages and maxUnavailable), how many are healthy, and so
/// how many disruptions the eviction API may allow. Evictions the API server granted
/// (status.disruptedPods) count as gone until the pod is seen going, or for two minutes.
public final class DisruptionController: Controller {
    public let name = "disruption"
    public let queue = WorkQueue(name: "disruption")
    let client: Client
    let budgets: Informer
    let pods: Informer
    /// The workload controllers whose scale tells how many pods a budget expects.
    let owners: [String: Informer]
    /// Upstream's DeletionTimeout: an eviction not seen through by then is forgotten.
    static let deletionTimeout: Int64 = 120

    public init(factory: InformerFactory) {
        client = factory.client
        budgets = factory.informer(.podDisruptionBudgets)
        pods = factory.informer(.pods)
        owners = ["ReplicaSet": factory.informer(.replicaSets), "Deployment": factory.informer(.deployments),
                  "StatefulSet": factory.informer(.statefulSets), "ReplicationController": factory.informer(.replicationControllers)]
        budgets.addHandler { [queue] e in
            switch e {
            case .added(let o), .updated(_, let o), .deleted(let o): queue.add(objectKey(o))
            }
        }
        pods.addHandler { [weak self] e in
            switch e {
            case .added(let p), .deleted(let p): self?.enqueueBudgets(of: p)
            case .updated(let old, let new):
                self?.enqueueBudgets(of: new)
                if old.labels != new.labels { self?.enqueueBudgets(of: old) }
            }
        }
        // A controller scaled changes what percentage budgets expect.
        for (_, informer) in owners {
            informer.addHandler { [weak self] e in
                guard case .updated(let old, let new) = e, old[path: ["spec", "replicas"]] != new[path: ["spec", "replicas"]] else { return }
                for pdb in self?.budgets.indexer.list(namespace: new.namespace ?? "") ?? [] { self?.queue.add(objectKey(pdb)) }
            }
        }
    }

    func enqueueBudgets(of pod: JSON) {
        for pdb in budgets.indexer.list(namespace: pod.namespace ?? "") where Self.selects(pdb, pod) {
            queue.add(objectKey(pdb))
        }
    }

    static func selects(_ pdb: JSON, _ pod: JSON) -> Bool {
        guard let selector = try? LabelSelector(pdb[path: ["spec", "selector"]]) else { return false }
        return selector.matches(pod.labels)
    }

    public func sync(key: String) async throws {
        guard let pdb = budgets.indexer.get(key), pdb.deletionTimestamp == nil else { return }
        let selected = pods.indexer.list(namespace: pdb.namespace ?? "").filter { Self.selects(pdb, $0) }
        let now = Timestamp.now()
        var status = pdb["status"]?.objectValue ?? JSONObject()

        // Evictions granted but not yet seen: the pod counts as disrupted meanwhile.
        var disrupted = JSONObject()
        var nextExpiry: Int64?
        let byName = Dictionary(selected.map { ($0.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        for (name, value) in pdb[path: ["status", "disruptedPods"]]?.objectValue ?? JSONObject() {
            guard let pod = byName[name], pod.deletionTimestamp == nil,
                  let since = value.stringValue.flatMap(Timestamp.init(rfc3339:)) else { continue }
            let expires = since.adding(seconds: Self.deletionTimeout)
            guard now < expires else { continue }
            disrupted[name] = value
            nextExpiry = min(nextExpiry ?? Int64.max, expires.seconds - now.seconds + 1)
        }

        let healthy = selected.filter { $0.deletionTimestamp == nil && isReady($0) && disrupted[$0.name ?? ""] == nil }.count
        var expected = Int64(selected.count)
        var desired: Int64 = 0
        var failed: String?
        let spec = pdb["spec"]
        if let maxUnavailable = spec?["maxUnavailable"] {
            expected = expectedScale(selected, failure: &failed)
            desired = max(0, expected - (scaledValue(maxUnavailable, of: expected, roundUp: true) ?? 0))
        } else if let minAvailable = spec?["minAvailable"] {
            if let n = minAvailable.int64Value {
                desired = n
            } else {
                expected = expectedScale(selected, failure: &failed)
                desired = scaledValue(minAvailable, of: expected, roundUp: true) ?? 0
            }
        }
        let allowed = failed == nil ? max(0, Int64(healthy) - desired) : 0
        status["currentHealthy"] = .number(JSONNumber(healthy))
        status["desiredHealthy"] = .number(JSONNumber(desired))
        status["expectedPods"] = .number(JSONNumber(expected))
        status["disruptionsAllowed"] = .number(JSONNumber(allowed))
        status["disruptedPods"] = disrupted.isEmpty ? nil : .object(disrupted)
        if let generation = pdb.generation { status["observedGeneration"] = .number(JSONNumber(generation)) }
        var next = pdb
        next["status"] = .object(status)
        next[path: ["status", "conditions"]] = .array(PodDisruptionBudgets.allowedCondition(next, allowed: allowed > 0))
        if next["status"] != pdb["status"] {
            do {
                try await client.update(.podDisruptionBudgets, next, subresource: "status")
            } catch let e as ClientError where e.isNotFound {}
        }
        if let nextExpiry { queue.add(key, after: .seconds(nextExpiry)) }
        if let failed { throw ClientError(code: 0, reason: "CalculateExpectedPodCountFailed", message: failed) }
    }

    /// The pods a budget expects: the sum of the scales of the selected pods' controllers
    /// (a Deployment's for its ReplicaSets). A selected pod without a controller makes a
    /// percentage meaningless, so the budget allows nothing, as upstream.
    func expectedScale(_ pods: [JSON], failure: inout String?) -> Int64 {
        var seen = Set<String>()
        var total: Int64 = 0
        for pod in pods {
            guard let ref = controllerRef(pod), let kind = ref["kind"]?.stringValue,
                  var owner = owners[kind]?.indexer.get("\(pod.namespace ?? "")/\(ref["name"]?.stringValue ?? "")"),
                  owner.uid == ref["uid"]?.stringValue else {
                failure = "found no controllers for pod \"\(pod.name ?? "")\""
                return 0
            }
            if kind == "ReplicaSet", let parent = controllerRef(owner), parent["kind"] == "Deployment",
               let deployment = owners["Deployment"]?.indexer.get("\(pod.namespace ?? "")/\(parent["name"]?.stringValue ?? "")"),
               deployment.uid == parent["uid"]?.stringValue {
                owner = deployment
            }
            guard seen.insert(owner.uid ?? "").inserted else { continue }
            total += owner[path: ["spec", "replicas"]]?.int64Value ?? 1
        }
        return total
    }
}
