import SkiffAPI
import SkiffClient
import SkiffCore

/// The two kinds one controller keeps replicated, as upstream's ReplicationManager is
/// the ReplicaSet controller over an adapter: they differ only in resource and selector.
public struct ReplicatedKind: Sendable {
    let resource: Resource
    /// The name events are recorded under, as upstream's two controllers are called.
    let component: String
    let selector: @Sendable (JSON) -> LabelSelector

    /// apps/v1 ReplicaSets select with a metav1.LabelSelector.
    public static let replicaSet = ReplicatedKind(resource: .replicaSets, component: "replicaset-controller") { rs in
        (try? LabelSelector(rs[path: ["spec", "selector"]])) ?? .nothing
    }

    /// v1 ReplicationControllers select with a plain map of labels.
    public static let replicationController = ReplicatedKind(resource: .replicationControllers, component: "replication-controller") { rc in
        guard let map = rc[path: ["spec", "selector"]], map.isObject else { return .nothing }
        return (try? LabelSelector(["matchLabels": map])) ?? .nothing
    }
}

/// Keeps each ReplicaSet's (or ReplicationController's) number of active pods equal to
/// spec.replicas: creates pods from its template, deletes the least valuable ones first,
/// adopts matching orphans and releases pods that stopped matching, and reports status
/// (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas).
public final class ReplicaSetController: Controller {
    public let name: String
    public let queue: WorkQueue
    let client: Client
    let kind: ReplicatedKind
    let replicaSets: Informer
    let pods: Informer
    let expectations = Expectations()
    let events: EventRecorder
    /// Upstream's burstReplicas: at most this many creates or deletes per sync.
    static let burst = 500

    public init(factory: InformerFactory, kind: ReplicatedKind = .replicaSet) {
        name = kind.resource.kind.lowercased()
        queue = WorkQueue(name: name)
        client = factory.client
        self.kind = kind
        events = EventRecorder(client: factory.client, component: kind.component)
        replicaSets = factory.informer(kind.resource)
        pods = factory.informer(.pods)
        pods.indexer.indexByController()
        replicaSets.addHandler(expectations.ownersChanged(queue))
        pods.addHandler { [weak self] e in self?.podChanged(e) }
    }

    /// The key of the ReplicaSet (or ReplicationController) controlling `pod`, if one does.
    func ownerKey(_ pod: JSON) -> String? { controllerKey(pod, kind: kind.resource.kind) }

    func podChanged(_ e: InformerEvent) {
        switch e {
        case .added(let pod):
            if let key = ownerKey(pod) {
                expectations.observedAdd(key)
                queue.add(key)
            } else {
                enqueueSelecting(pod)
            }
        case .updated(let old, let new):
            if let key = ownerKey(new) { queue.add(key) } else { enqueueSelecting(new) }
            if let oldKey = ownerKey(old), oldKey != ownerKey(new) { queue.add(oldKey) }
        case .deleted(let pod):
            if let key = ownerKey(pod) {
                expectations.observedDelete(key)
                queue.add(key)
            }
        }
    }

    func enqueueSelecting(_ pod: JSON) {
        for key in ControllerRefManager.adopters(of: pod, among: replicaSets.indexer.list(namespace: pod.namespace ?? ""), selector: kind.selector) {
            queue.add(key)
        }
    }

    public func sync(key: String) async throws {
        guard let rs = replicaSets.indexer.get(key) else {
            expectations.forget(key)
            return
        }
        let claims = ControllerRefManager(client: client, resource: .pods, owner: rs, selector: kind.selector(rs))
        let candidates = pods.indexer.byIndex(Indexer.byController, rs.uid ?? "")
            + pods.indexer.byIndex(Indexer.byController, "").filter { $0.namespace == rs.namespace }
        let owned = try await claims.claim(candidates)
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
                        group.addTask { [client, events, kind] in
                            do {
                                let made = try await client.create(.pods, namespace: rs.namespace, pod)
                                events.event(rs, kind.resource, type: "Normal", reason: "SuccessfulCreate", message: "Created pod: \(made.name ?? "")")
                                return false
                            } catch {
                                events.event(rs, kind.resource, type: "Warning", reason: "FailedCreate", message: "Error creating: \(errorMessage(error))")
                                return true
                            }
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
                    events.event(rs, kind.resource, type: "Normal", reason: "SuccessfulDelete", message: "Deleted pod: \(pod.name ?? "")")
                } catch let e as ClientError where e.isNotFound || e.isConflict {
                    expectations.observedDelete(key)
                } catch {
                    events.event(rs, kind.resource, type: "Warning", reason: "FailedDelete", message: "Error deleting: \(errorMessage(error))")
                    throw error
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
            try await client.update(kind.resource, next, subresource: "status")
        } catch let e as ClientError where e.isNotFound {}
    }
}
