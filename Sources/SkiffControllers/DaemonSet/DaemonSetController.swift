import SkiffAPI
import SkiffClient
import SkiffCore

/// Runs one pod of each DaemonSet on every eligible node (nodeSelector, required node
/// affinity, taints it tolerates), as upstream: the pods carry required node affinity to
/// their node, so the default scheduler binds them there; the daemon tolerations upstream
/// adds are added; a changed template rolls out node by node within maxUnavailable
/// (RollingUpdate) or waits for pods to be deleted (OnDelete). Each template is kept as
/// a ControllerRevision, as upstream, so `kubectl rollout history/undo ds` work; pods are
/// labelled controller-revision-hash with their revision's hash.
public final class DaemonSetController: Controller {
    public let name = "daemonset"
    public let queue = WorkQueue(name: "daemonset")
    let client: Client
    let history: ControllerHistory
    let daemonSets: Informer
    let nodes: Informer
    let pods: Informer
    let controllerRevisions: Informer

    static let hashLabel = ControllerHistory.hashLabel

    public init(factory: InformerFactory) {
        client = factory.client
        history = ControllerHistory(client: factory.client)
        daemonSets = factory.informer(.daemonSets)
        nodes = factory.informer(.nodes)
        pods = factory.informer(.pods)
        controllerRevisions = factory.informer(.controllerRevisions)
        pods.indexer.indexByController()
        daemonSets.addHandler { [queue] e in
            switch e {
            case .added(let o), .updated(_, let o), .deleted(let o): queue.add(objectKey(o))
            }
        }
        // Any node change may change where daemons belong.
        nodes.addHandler { [daemonSets, queue] _ in
            for ds in daemonSets.indexer.list() { queue.add(objectKey(ds)) }
        }
        pods.addHandler { [queue] e in
            switch e {
            case .added(let p), .updated(_, let p), .deleted(let p):
                if let key = controllerKey(p, kind: "DaemonSet") { queue.add(key) }
            }
        }
    }

    /// Tolerations every daemon pod gets, as upstream's AddOrUpdateDaemonPodTolerations.
    static let daemonTolerations: [JSON] = [
        ["key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"],
        ["key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"],
        ["key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"],
        ["key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"],
        ["key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"],
        ["key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"],
    ]

    public func sync(key: String) async throws {
        guard let ds = daemonSets.indexer.get(key), ds.deletionTimestamp == nil else { return }
        let namespace = ds.namespace ?? ""
        let selector = (try? LabelSelector(ds[path: ["spec", "selector"]])) ?? .nothing
        let revisions = ControllerHistory.sorted(
            try await ControllerRefManager(client: client, resource: .controllerRevisions, owner: ds, selector: selector)
                .claim(controllerRevisions.indexer.list(namespace: namespace)))
        var collisionCount = ds[path: ["status", "collisionCount"]]?.int64Value ?? 0
        let current = try await history.revision(of: ds, among: revisions, collisionCount: &collisionCount)
        let hash = current.labels[Self.hashLabel] ?? ""
        let owned = pods.indexer.byIndex(Indexer.byController, ds.uid ?? "").filter(isActive)
        var byNode: [String: [JSON]] = [:]
        for p in owned { byNode[Self.targetNode(p) ?? "", default: []].append(p) }
        let template = ds[path: ["spec", "template", "spec"]] ?? [:]
        let tolerations = (template["tolerations"]?.arrayValue ?? []) + Self.daemonTolerations
        let eligible = nodes.indexer.list().filter { Self.eligible($0, template: template, tolerations: tolerations) }
        let eligibleNames = Set(eligible.compactMap(\.name))

        // Create where missing; delete extras and pods on nodes no longer eligible.
        for node in eligible where (byNode[node.name ?? ""] ?? []).isEmpty {
            try await client.create(.pods, namespace: namespace, pod(ds, node: node.name ?? "", hash: hash, tolerations: tolerations))
        }
        for (node, list) in byNode {
            let extras = eligibleNames.contains(node) ? Array(list.dropFirst()) : list
            for p in extras { try await client.delete(.pods, namespace: namespace, p.name ?? "", preconditionUID: p.uid, ignoreNotFound: true) }
        }
        // RollingUpdate: replace old-template pods, at most maxUnavailable not available at once.
        if ds[path: ["spec", "updateStrategy", "type"]]?.stringValue ?? "RollingUpdate" == "RollingUpdate" {
            let maxUnavailable = Self.maxUnavailable(ds, of: eligible.count)
            let now = Timestamp.now()
            var unavailable = eligible.filter { n in !(byNode[n.name ?? ""] ?? []).contains { isAvailable($0, minReadySeconds: 0, now: now) } }.count
            for node in eligible {
                guard unavailable < maxUnavailable, let p = byNode[node.name ?? ""]?.first, p.labels[Self.hashLabel] != hash else { continue }
                try await client.delete(.pods, namespace: namespace, p.name ?? "", preconditionUID: p.uid, ignoreNotFound: true)
                unavailable += 1
            }
        }
        try await updateStatus(ds, byNode: byNode, eligible: eligibleNames, hash: hash, collisionCount: collisionCount)
        let inUse = Set(owned.compactMap { $0.labels[Self.hashLabel].map { ControllerHistory.name(parent: ds.name ?? "", hash: $0) } } + [current.name ?? ""])
        try await history.truncate(revisions, of: ds, inUse: inUse)
    }

    static func maxUnavailable(_ ds: JSON, of count: Int) -> Int {
        let v = ds[path: ["spec", "updateStrategy", "rollingUpdate", "maxUnavailable"]] ?? 1
        return max(1, Int(scaledValue(v, of: Int64(count), roundUp: false) ?? 1))
    }

    /// The node a daemon pod is for: bound, or pinned by its node affinity.
    static func targetNode(_ pod: JSON) -> String? {
        if let n = pod[path: ["spec", "nodeName"]]?.stringValue, !n.isEmpty { return n }
        let terms = pod[path: ["spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]]?.arrayValue
        return terms?.first?["matchFields"]?.arrayValue?.first { $0["key"] == "metadata.name" }?["values"]?.arrayValue?.first?.stringValue
    }

    static func eligible(_ node: JSON, template: JSON, tolerations: [JSON]) -> Bool {
        let labels = node.labels
        guard stringMap(template["nodeSelector"]).allSatisfy({ labels[$0.key] == $0.value }) else { return false }
        let terms = template[path: ["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]]?.arrayValue
        guard NodeSelectorTerms.anyMatches(terms, labels: labels, nodeName: node.name ?? "") else { return false }
        let taints = node[path: ["spec", "taints"]]?.arrayValue ?? []
        return taints.allSatisfy { t in
            !["NoSchedule", "NoExecute"].contains(t["effect"]?.stringValue ?? "") || Taints.tolerated(t, by: tolerations)
        }
    }

    func pod(_ ds: JSON, node: String, hash: String, tolerations: [JSON]) -> JSON {
        var spec = ds[path: ["spec", "template", "spec"]] ?? [:]
        spec["tolerations"] = .array(tolerations)
        // Pinned to its node by required affinity; the scheduler does the binding.
        var affinity = spec["affinity"] ?? [:]
        affinity[path: ["nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]] =
            [["matchFields": [["key": "metadata.name", "operator": "In", "values": [.string(node)]]]]]
        spec["affinity"] = affinity
        var labels = ds[path: ["spec", "template", "metadata", "labels"]]?.objectValue ?? [:]
        labels[Self.hashLabel] = .string(hash)
        labels["pod-template-generation"] = .string(String(ds.generation ?? 1))
        var meta: JSON = ["generateName": .string("\(ds.name ?? "")-"), "labels": .object(labels), "ownerReferences": [ownerReference(ds)]]
        if let annotations = ds[path: ["spec", "template", "metadata", "annotations"]] { meta["annotations"] = annotations }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec]
    }

    func updateStatus(_ ds: JSON, byNode: [String: [JSON]], eligible: Set<String>, hash: String, collisionCount: Int64) async throws {
        let now = Timestamp.now()
        let minReady = ds[path: ["spec", "minReadySeconds"]]?.int64Value ?? 0
        let onEligible = byNode.filter { eligible.contains($0.key) }.compactMap { $0.value.first }
        var status = ds["status"]?.objectValue ?? JSONObject()
        status["desiredNumberScheduled"] = .number(JSONNumber(eligible.count))
        status["currentNumberScheduled"] = .number(JSONNumber(onEligible.count))
        status["numberMisscheduled"] = .number(JSONNumber(byNode.filter { !eligible.contains($0.key) }.count))
        status["numberReady"] = .number(JSONNumber(onEligible.filter(isReady).count))
        let available = onEligible.filter { isAvailable($0, minReadySeconds: minReady, now: now) }.count
        status["numberAvailable"] = .number(JSONNumber(available))
        status["numberUnavailable"] = .number(JSONNumber(max(0, eligible.count - available)))
        status["updatedNumberScheduled"] = .number(JSONNumber(onEligible.filter { $0.labels[Self.hashLabel] == hash }.count))
        if let g = ds.generation { status["observedGeneration"] = .number(JSONNumber(g)) }
        status["collisionCount"] = collisionCount > 0 ? .number(JSONNumber(collisionCount)) : nil
        for key in ["numberAvailable", "numberUnavailable", "updatedNumberScheduled"] where status[key] == 0 { status[key] = nil }
        guard JSON.object(status) != ds["status"] else { return }
        var next = ds
        next["status"] = .object(status)
        do {
            try await client.update(.daemonSets, next, subresource: "status")
        } catch let e as ClientError where e.isNotFound {}
    }
}
