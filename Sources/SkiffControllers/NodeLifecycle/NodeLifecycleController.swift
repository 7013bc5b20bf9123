import Logging
import SkiffAPI
import SkiffClient
import SkiffCore

/// Watches node health as upstream's node lifecycle controller: a node whose kubelet has
/// not renewed its Lease (nor posted status) within the grace period gets Ready=Unknown
/// and the node.kubernetes.io/unreachable taints; a node reporting NotReady gets the
/// not-ready taints. Pods on a node with a NoExecute taint they do not tolerate are
/// evicted — at once, or after their tolerationSeconds (300 s by default, added at
/// admission) — so their controllers replace them elsewhere. Pods bound to nodes that
/// no longer exist are the pod garbage collector's (PodGCController).
public final class NodeLifecycleController: Controller {
    public let name = "nodelifecycle"
    public let queue = WorkQueue(name: "nodelifecycle")
    let client: Client
    let nodes: Informer
    let leases: Informer
    let pods: Informer
    let gracePeriod: Int64
    let now: @Sendable () -> Timestamp
    let logger = Logger(label: "skiff.controller.nodelifecycle")

    static let unreachable = "node.kubernetes.io/unreachable"
    static let notReady = "node.kubernetes.io/not-ready"

    public init(factory: InformerFactory, gracePeriodSeconds: Int64 = 40, now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        client = factory.client
        nodes = factory.informer(.nodes)
        leases = factory.informer(.leases)
        pods = factory.informer(.pods)
        gracePeriod = gracePeriodSeconds
        self.now = now
        pods.indexer.indexPodsByNode()
        nodes.addHandler { [queue] e in
            switch e {
            case .added(let n), .updated(_, let n), .deleted(let n): queue.add(n.name ?? "")
            }
        }
    }

    /// Looks at every node every few seconds: staleness shows no event of its own.
    public func monitor() async {
        let period = Duration.milliseconds(max(200, min(5000, gracePeriod * 1000 / 4)))
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            for n in nodes.indexer.list() { queue.add(n.name ?? "") }
        }
    }

    public func sync(key name: String) async throws {
        guard let node = nodes.indexer.get(name) else { return }
        let t = now()
        var conditions = node[path: ["status", "conditions"]]?.arrayValue ?? []
        let ready = conditions.first { $0["type"] == "Ready" }
        // The last sign of life: the Lease's renewTime or the Ready condition's heartbeat.
        let renew = leases.indexer.get("kube-node-lease/\(name)")?[path: ["spec", "renewTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        let heartbeat = ready?["lastHeartbeatTime"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        let lastSeen = [renew, heartbeat, node.creationTimestamp.flatMap(Timestamp.init(rfc3339:))].compactMap { $0 }.max()
        let stale = lastSeen.map { $0.adding(seconds: gracePeriod) < t } ?? false

        var readyStatus = ready?["status"]?.stringValue ?? "Unknown"
        if stale, readyStatus != "Unknown" {
            for i in conditions.indices where ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"].contains(conditions[i]["type"]?.stringValue ?? "") {
                conditions[i]["status"] = "Unknown"
                conditions[i]["reason"] = "NodeStatusUnknown"
                conditions[i]["message"] = "Kubelet stopped posting node status."
                conditions[i]["lastTransitionTime"] = .string(t.rfc3339)
            }
            var next = node
            next[path: ["status", "conditions"]] = .array(conditions)
            try await client.update(.nodes, next, subresource: "status")
            logger.info("node stopped reporting", metadata: ["node": "\(name)"])
            readyStatus = "Unknown"
            return  // the status update comes back as an event; taints follow then
        }

        // Taints follow the Ready condition.
        var wanted: [String] = []
        if readyStatus == "Unknown" { wanted = [Self.unreachable] } else if readyStatus == "False" { wanted = [Self.notReady] }
        let taints = node[path: ["spec", "taints"]]?.arrayValue ?? []
        let managed = [Self.unreachable, Self.notReady]
        var next = taints.filter { !managed.contains($0["key"]?.stringValue ?? "") || wanted.contains($0["key"]?.stringValue ?? "") }
        for key in wanted {
            for effect in ["NoSchedule", "NoExecute"] where !next.contains(where: { $0["key"]?.stringValue == key && $0["effect"]?.stringValue == effect }) {
                var taint: JSON = ["key": .string(key), "effect": .string(effect)]
                if effect == "NoExecute" { taint["timeAdded"] = .string(t.rfc3339) }
                next.append(taint)
            }
        }
        if next != taints {
            try await client.patch(.nodes, name, merge: ["spec": ["taints": next.isEmpty ? .null : .array(next)],
                                                             "metadata": ["resourceVersion": .string(node.resourceVersion ?? "")]])
            return
        }
        try await evictPods(on: node, taints: taints, now: t)
    }

    /// NoExecute taints evict pods that do not tolerate them, or once their
    /// tolerationSeconds have passed since the taint was added.
    func evictPods(on node: JSON, taints: [JSON], now t: Timestamp) async throws {
        let noExecute = taints.filter { $0["effect"] == "NoExecute" }
        guard !noExecute.isEmpty else { return }
        var recheck: Int64?
        for pod in pods.indexer.byIndex(Indexer.podsByNode, node.name ?? "") where pod.deletionTimestamp == nil {
            let tolerations = pod[path: ["spec", "tolerations"]]?.arrayValue ?? []
            var evictAt: Timestamp?
            for taint in noExecute {
                let added = taint["timeAdded"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) ?? t
                guard let toleration = tolerations.first(where: { Taints.tolerates($0, taint) }) else {
                    evictAt = t
                    break
                }
                if let seconds = toleration["tolerationSeconds"]?.int64Value {
                    let at = added.adding(seconds: max(0, seconds))
                    evictAt = evictAt.map { min($0, at) } ?? at
                }
            }
            guard let evictAt else { continue }
            if evictAt <= t {
                logger.info("evicting pod from tainted node", metadata: ["pod": "\(objectKey(pod))", "node": "\(node.name ?? "")"])
                try await client.delete(.pods, namespace: pod.namespace, pod.name ?? "", preconditionUID: pod.uid, ignoreNotFound: true)
            } else {
                let wait = evictAt.seconds - t.seconds
                recheck = recheck.map { min($0, wait) } ?? wait
            }
        }
        if let recheck { queue.add(node.name ?? "", after: .seconds(max(1, recheck))) }
    }
}
