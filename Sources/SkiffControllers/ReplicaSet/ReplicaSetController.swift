import SkiffAPI
import SkiffClient
import SkiffCore

/// Keeps each ReplicaSet's number of active pods equal to spec.replicas: creates pods
/// from its template, deletes the least valuable ones first, adopts matching orphans, and
/// reports status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas).
public final class ReplicaSetController: Controller {
    public let name = "replicaset"
    public let queue = WorkQueue(name: "replicaset")
    let client: Client
    let replicaSets: Informer
    let pods: Informer
    let expectations = Expectations()
    /// Upstream's burstReplicas: at most this many creates or deletes per sync.
    static let burst = 500

    public init(factory: InformerFactory) {
        client = factory.client
        replicaSets = factory.informer(.replicaSets)
        pods = factory.informer(.pods)
        replicaSets.addHandler { [queue, expectations] e in
            switch e {
            case .added(let o), .updated(_, let o): queue.add(objectKey(o))
            case .deleted(let o):
                expectations.forget(objectKey(o))
                queue.add(objectKey(o))
            }
        }
        pods.addHandler { [weak self] e in self?.podChanged(e) }
    }

    /// The key of the ReplicaSet controlling `pod`, if one does.
    static func ownerKey(_ pod: JSON) -> String? {
        guard let ref = controllerRef(pod), ref["kind"] == "ReplicaSet", let name = ref["name"]?.stringValue else { return nil }
        return "\(pod.namespace ?? "")/\(name)"
    }

    func podChanged(_ e: InformerEvent) {
        switch e {
        case .added(let pod):
            if let key = Self.ownerKey(pod) {
                expectations.observedAdd(key)
                queue.add(key)
            } else {
                enqueueSelecting(pod)
            }
        case .updated(let old, let new):
            if let key = Self.ownerKey(new) { queue.add(key) } else { enqueueSelecting(new) }
            if let oldKey = Self.ownerKey(old), oldKey != Self.ownerKey(new) { queue.add(oldKey) }
        case .deleted(let pod):
            if let key = Self.ownerKey(pod) {
                expectations.observedDelete(key)
                queue.add(key)
            }
        }
    }

    /// An orphan pod: every ReplicaSet whose selector matches may adopt it.
    func enqueueSelecting(_ pod: JSON) {
        guard pod.deletionTimestamp == nil else { return }
        for rs in replicaSets.indexer.list(namespace: pod.namespace ?? "") {
            if let selector = try? LabelSelector(rs[path: ["spec", "selector"]]), !selector.isEmpty, selector.matches(pod.labels) {
                queue.add(objectKey(rs))
            }
        }
    }

    public func sync(key: String) async throws {
        guard let rs = replicaSets.indexer.get(key) else {
            expectations.forget(key)
            return
        }
        let namespace = rs.namespace ?? ""
        let selector = (try? LabelSelector(rs[path: ["spec", "selector"]])) ?? .nothing
        var owned: [JSON] = []
        for pod in pods.indexer.list(namespace: namespace) {
            if let ref = controllerRef(pod) {
                if ref["uid"]?.stringValue == rs.uid { owned.append(pod) }
            } else if rs.deletionTimestamp == nil, pod.deletionTimestamp == nil, !selector.isEmpty, selector.matches(pod.labels) {
                if let adopted = try await adopt(pod, by: rs, client: client) { owned.append(adopted) }
            }
        }
        let active = owned.filter(isActive)
        if rs.deletionTimestamp == nil, expectations.satisfied(key) {
            try await manageReplicas(rs, key: key, active: active)
        }
        try await updateStatus(rs, active: active)
    }

    func manageReplicas(_ rs: JSON, key: String, active: [JSON]) async throws {
        let want = Int(rs[path: ["spec", "replicas"]]?.int64Value ?? 1)
        let diff = active.count - want
        if diff < 0 {
            let n = min(-diff, Self.burst)
            expectations.expect(key, adds: n)
            let pod = podFromTemplate(rs)
            // Slow start, as upstream: batches of 1, 2, 4... so a template the API rejects
            // fails once, not 500 times.
            var created = 0
            var batch = 1
            while created < n {
                let size = min(batch, n - created)
                let failures = await withTaskGroup(of: Bool.self) { group in
                    for _ in 0..<size {
                        group.addTask { [client] in
                            (try? await client.create(.pods, namespace: rs.namespace, pod)) == nil
                        }
                    }
                    var failed = 0
                    for await f in group where f { failed += 1 }
                    return failed
                }
                created += size
                if failures > 0 {
                    // The pods never made will never be observed.
                    for _ in 0..<(failures + n - created) { expectations.observedAdd(key) }
                    throw ClientError(code: 0, reason: "FailedCreate", message: "\(failures) of \(size) pods could not be created for \(key)")
                }
                batch *= 2
            }
        } else if diff > 0 {
            let victims = Array(active.sorted(by: Self.lessValuable).prefix(min(diff, Self.burst)))
            expectations.expect(key, deletes: victims.count)
            for pod in victims {
                do {
                    try await client.delete(.pods, namespace: pod.namespace, pod.name ?? "", preconditionUID: pod.uid)
                } catch let e as ClientError where e.isNotFound || e.isConflict {
                    expectations.observedDelete(key)
                }
            }
        }
    }

    /// Upstream's ActivePods ordering: unscheduled before scheduled, Pending before
    /// Unknown before Running, not ready before ready, newer before older.
    static func lessValuable(_ a: JSON, _ b: JSON) -> Bool {
        let aNode = a[path: ["spec", "nodeName"]]?.stringValue ?? "", bNode = b[path: ["spec", "nodeName"]]?.stringValue ?? ""
        if aNode.isEmpty != bNode.isEmpty { return aNode.isEmpty }
        let rank = ["Pending": 0, "Unknown": 1, "Running": 2]
        let ra = rank[a[path: ["status", "phase"]]?.stringValue ?? "Pending"] ?? 0
        let rb = rank[b[path: ["status", "phase"]]?.stringValue ?? "Pending"] ?? 0
        if ra != rb { return ra < rb }
        if isReady(a) != isReady(b) { return !isReady(a) }
        return (a.creationTimestamp ?? "") > (b.creationTimestamp ?? "")
    }

    func podFromTemplate(_ rs: JSON) -> JSON {
        let template = rs[path: ["spec", "template"]] ?? [:]
        var meta: JSON = ["generateName": .string("\(rs.name ?? "")-")]
        if let labels = template[path: ["metadata", "labels"]] { meta["labels"] = labels }
        if let annotations = template[path: ["metadata", "annotations"]] { meta["annotations"] = annotations }
        meta["ownerReferences"] = [ownerReference(rs)]
        return ["apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"] ?? [:]]
    }

    func updateStatus(_ rs: JSON, active: [JSON]) async throws {
        let templateLabels = stringMap(rs[path: ["spec", "template", "metadata", "labels"]])
        let minReady = rs[path: ["spec", "minReadySeconds"]]?.int64Value ?? 0
        let now = Timestamp.now()
        var status = rs["status"]?.objectValue ?? JSONObject()
        status["replicas"] = .number(JSONNumber(active.count))
        status["fullyLabeledReplicas"] = .number(JSONNumber(active.filter { p in templateLabels.allSatisfy { p.labels[$0.key] == $0.value } }.count))
        status["readyReplicas"] = .number(JSONNumber(active.filter(isReady).count))
        status["availableReplicas"] = .number(JSONNumber(active.filter { isAvailable($0, minReadySeconds: minReady, now: now) }.count))
        if let generation = rs.generation { status["observedGeneration"] = .number(JSONNumber(generation)) }
        for key in ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"] where status[key] == 0 {
            status[key] = nil  // omitempty, as upstream serializes them
        }
        guard JSON.object(status) != rs["status"] else { return }
        var next = rs
        next["status"] = .object(status)
        do {
            try await client.update(.replicaSets, next, subresource: "status")
        } catch let e as ClientError where e.isNotFound {}
    }
}
