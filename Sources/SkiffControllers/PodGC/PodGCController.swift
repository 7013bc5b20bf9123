import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
import Synchronization

/// Upstream's pod garbage collector, every `period`: deletes the oldest terminated pods
/// (Succeeded or Failed) beyond `terminatedPodThreshold` (0 disables it); pods bound to
/// a node that no longer exists, once the node has been missing for `quarantine` and the
/// API confirms it (they are marked Failed with a DisruptionTarget condition first).
/// Upstream's third rule, force-deleting terminating pods that were never scheduled, has
/// nothing to do here: Skiff's API server deletes such pods at once (grace period 0).
public final class PodGCController: Controller {
    public let name = "pod-garbage-collector"
    public let queue = WorkQueue(name: "pod-garbage-collector")
    let client: Client
    let pods: Informer
    let nodes: Informer
    let terminatedPodThreshold: Int
    let period: Duration
    let quarantine: Int64
    let now: @Sendable () -> Timestamp
    /// Missing nodes and when they were first seen missing.
    let missingNodes = Mutex<[String: Timestamp]>([:])
    let logger = Logger(label: "skiff.controller.podgc")

    static let key = "podgc"

    /// Upstream's defaults: --terminated-pod-gc-threshold 12500, gcCheckPeriod 20 s, a
    /// 40 s quarantine for pods of missing nodes.
    public init(factory: InformerFactory, terminatedPodThreshold: Int = 12500, period: Duration = .seconds(20),
                quarantineSeconds: Int64 = 40, now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        client = factory.client
        pods = factory.informer(.pods)
        nodes = factory.informer(.nodes)
        self.terminatedPodThreshold = terminatedPodThreshold
        self.period = period
        quarantine = quarantineSeconds
        self.now = now
        queue.add(Self.key)
    }

    public func sync(key: String) async throws {
        defer { queue.add(Self.key, after: period) }
        guard pods.hasSynced, nodes.hasSynced else { return }
        let all = pods.indexer.list()
        try await collectTerminated(all)
        try await collectOrphaned(all)
    }

    func collectTerminated(_ all: [JSON]) async throws {
        guard terminatedPodThreshold > 0 else { return }
        let terminated = all.filter { p in
            let phase = p[path: ["status", "phase"]]?.stringValue
            return (phase == "Succeeded" || phase == "Failed") && p.deletionTimestamp == nil
        }
        guard terminated.count > terminatedPodThreshold else { return }
        let oldest = terminated.sorted { ($0.creationTimestamp ?? "", $0.name ?? "") < ($1.creationTimestamp ?? "", $1.name ?? "") }
        for pod in oldest.prefix(terminated.count - terminatedPodThreshold) {
            logger.info("deleting terminated pod beyond the threshold", metadata: ["pod": "\(objectKey(pod))"])
            try await forceDelete(pod)
        }
    }

    func collectOrphaned(_ all: [JSON]) async throws {
        let t = now()
        let bound = Set(all.compactMap { $0[path: ["spec", "nodeName"]]?.stringValue }.filter { !$0.isEmpty })
        var expired: [String] = []
        missingNodes.withLock { missing in
            for node in bound where nodes.indexer.get(node) == nil && missing[node] == nil { missing[node] = t }
            for (node, since) in missing {
                if nodes.indexer.get(node) != nil || !bound.contains(node) {
                    missing[node] = nil
                } else if since.adding(seconds: quarantine) <= t {
                    expired.append(node)
                }
            }
        }
        for node in expired {
            // The informer may just not have seen a new node yet: ask.
            do {
                _ = try await client.get(.nodes, node)
                continue
            } catch let e as ClientError where e.isNotFound {}
            for pod in all where pod[path: ["spec", "nodeName"]]?.stringValue == node {
                try await markFailed(pod, message: "PodGC: node no longer exists", now: t)
                try await forceDelete(pod)
            }
            _ = missingNodes.withLock { $0.removeValue(forKey: node) }
        }
    }

    /// As upstream since 1.26: a pod removed by PodGC ends Failed with a DisruptionTarget
    /// condition (reason DeletionByPodGC), so its Job can tell.
    func markFailed(_ pod: JSON, message: String, now t: Timestamp) async throws {
        let phase = pod[path: ["status", "phase"]]?.stringValue
        guard phase != "Succeeded", phase != "Failed" else { return }
        var conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
        conditions.removeAll { $0["type"] == "DisruptionTarget" }
        conditions.append(["type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC", "message": .string(message),
                           "lastTransitionTime": .string(t.rfc3339)])
        var next = pod
        next[path: ["status", "phase"]] = "Failed"
        next[path: ["status", "conditions"]] = .array(conditions)
        do {
            try await client.update(.pods, next, subresource: "status")
        } catch let e as ClientError where e.isNotFound || e.isConflict {}
    }

    /// Deletes with grace period 0: no kubelet will act on these pods.
    func forceDelete(_ pod: JSON) async throws {
        let options: JSON = ["kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0, "preconditions": ["uid": .string(pod.uid ?? "")]]
        let r = try await client.transport.send(ClientRequest(method: "DELETE", path: Resource.pods.path(namespace: pod.namespace, name: pod.name),
                                                              body: options.serialized()))
        guard r.status < 300 || r.status == 404 || r.status == 409 else { throw ClientError(status: r.status, body: r.body) }
    }
}
