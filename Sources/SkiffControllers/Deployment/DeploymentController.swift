import SkiffAPI
import SkiffClient
import SkiffCore

/// Rolls Deployments out through ReplicaSets, as upstream: one ReplicaSet per pod
/// template (named by the template's hash, labelled pod-template-hash), scaled up and the
/// old ones down within maxSurge/maxUnavailable (RollingUpdate) or all at once
/// (Recreate); revisions in the deployment.kubernetes.io/revision annotation (which
/// `kubectl rollout history/undo` read); old ReplicaSets beyond revisionHistoryLimit
/// deleted; status with the Available and Progressing conditions.
public final class DeploymentController: Controller {
    public let name = "deployment"
    public let queue = WorkQueue(name: "deployment")
    let client: Client
    let events: EventRecorder
    let deployments: Informer
    let replicaSets: Informer
    let pods: Informer
    let now: @Sendable () -> Timestamp

    public init(factory: InformerFactory, now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        client = factory.client
        events = EventRecorder(client: factory.client, component: "deployment-controller")
        deployments = factory.informer(.deployments)
        replicaSets = factory.informer(.replicaSets)
        pods = factory.informer(.pods)
        replicaSets.indexer.indexByController()
        pods.indexer.indexByController()
        self.now = now
        deployments.addHandler { [queue] e in
            switch e {
            case .added(let o), .updated(_, let o), .deleted(let o): queue.add(objectKey(o))
            }
        }
        replicaSets.addHandler { [queue] e in
            switch e {
            case .added(let rs), .updated(_, let rs), .deleted(let rs):
                if let key = controllerKey(rs, kind: "Deployment") { queue.add(key) }
            }
        }
    }

    static let revisionAnnotation = "deployment.kubernetes.io/revision"
    static let desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
    static let maxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"
    static let hashLabel = "pod-template-hash"

    public func sync(key: String) async throws {
        guard let d = deployments.indexer.get(key) else { return }
        var owned = replicaSets.indexer.byIndex(Indexer.byController, d.uid ?? "")
        if d.deletionTimestamp != nil {
            return try await updateStatus(d, owned, newRS: nil, progress: nil)
        }
        let hash = Self.templateHash(d[path: ["spec", "template"]] ?? [:], collisionCount: d[path: ["status", "collisionCount"]]?.int64Value ?? 0)
        var newRS = owned.first { $0.labels[Self.hashLabel] == hash }
            ?? owned.first { Self.sameTemplate($0[path: ["spec", "template"]], d[path: ["spec", "template"]]) }
        let paused = d[path: ["spec", "paused"]]?.boolValue == true
        var progress: String?
        let maxRevision = owned.compactMap { Int64($0.annotations[Self.revisionAnnotation] ?? "") }.max() ?? 0
        if !paused {
            if newRS == nil {
                newRS = try await createReplicaSet(d, hash: hash, revision: maxRevision + 1, owned: owned)
                if let newRS { owned.append(newRS) }
                progress = "NewReplicaSetCreated"
            } else if let rs = newRS, Int64(rs.annotations[Self.revisionAnnotation] ?? "") ?? 0 < maxRevision {
                // Rolled back to an older template: it becomes the newest revision.
                newRS = try await annotate(rs, revision: maxRevision + 1)
                progress = "FoundNewReplicaSet"
            }
        }
        let replicas = d[path: ["spec", "replicas"]]?.int64Value ?? 1
        let old = owned.filter { $0.uid != newRS?.uid }
        if paused {
            // A paused deployment still follows its replica count, without rolling out.
            if let rs = newRS, Self.specReplicas(rs) != replicas, old.allSatisfy({ Self.specReplicas($0) == 0 }) {
                _ = try await scale(rs, to: replicas, d)
            }
        } else if let rs = newRS {
            if d[path: ["spec", "strategy", "type"]]?.stringValue == "Recreate" {
                try await recreate(d, newRS: rs, old: old, replicas: replicas)
            } else {
                if try await rollingUpdate(d, newRS: rs, old: old, replicas: replicas) { progress = progress ?? "ReplicaSetUpdated" }
            }
            try await cleanUp(d, old: old)
        }
        let refreshed = replicaSets.indexer.byIndex(Indexer.byController, d.uid ?? "")
        try await updateStatus(d, refreshed, newRS: newRS.flatMap { n in refreshed.first { $0.uid == n.uid } } ?? newRS, progress: progress)
    }

    // MARK: - Rollout

    static func specReplicas(_ rs: JSON) -> Int64 { rs[path: ["spec", "replicas"]]?.int64Value ?? 1 }
    static func available(_ rs: JSON) -> Int64 { rs[path: ["status", "availableReplicas"]]?.int64Value ?? 0 }

    /// maxSurge and maxUnavailable as numbers: percentages of replicas, surge rounded
    /// up, unavailable down, and never both zero.
    static func surgeAndUnavailable(_ d: JSON, replicas: Int64) -> (surge: Int64, unavailable: Int64) {
        let ru = d[path: ["spec", "strategy", "rollingUpdate"]]
        func resolve(_ v: JSON?, _ fallback: String, roundUp: Bool) -> Int64 {
            scaledValue(v ?? .string(fallback), of: replicas, roundUp: roundUp) ?? 0
        }
        let surge = resolve(ru?["maxSurge"], "25%", roundUp: true)
        var unavailable = resolve(ru?["maxUnavailable"], "25%", roundUp: false)
        if surge == 0, unavailable == 0 { unavailable = 1 }
        return (surge, min(unavailable, replicas))
    }

    /// One step of a rolling update; true when it scaled something.
    func rollingUpdate(_ d: JSON, newRS: JSON, old: [JSON], replicas: Int64) async throws -> Bool {
        let (surge, maxUnavailable) = Self.surgeAndUnavailable(d, replicas: replicas)
        var changed = false
        // Scale the new ReplicaSet up within the surge.
        let all = [newRS] + old
        let total = all.reduce(0) { $0 + Self.specReplicas($1) }
        let newCount = Self.specReplicas(newRS)
        var target = newCount
        if newCount > replicas {
            target = replicas
        } else if newCount < replicas {
            target = min(replicas, newCount + max(0, replicas + surge - total))
        }
        if target != newCount {
            _ = try await scale(newRS, to: target, d)
            changed = true
        }
        // Scale old ones down as far as availability allows, oldest first: first their
        // unavailable pods, then available ones down to minAvailable (upstream's
        // reconcileOldReplicaSets).
        let sortedOld = old.sorted { ($0.creationTimestamp ?? "") < ($1.creationTimestamp ?? "") }
        var counts = sortedOld.map(Self.specReplicas)
        guard counts.contains(where: { $0 > 0 }) else { return changed }
        let minAvailable = replicas - maxUnavailable
        var maxScaledDown = counts.reduce(target, +) - minAvailable - max(0, target - Self.available(newRS))
        guard maxScaledDown > 0 else { return changed }
        for (i, rs) in sortedOld.enumerated() where maxScaledDown > 0 {
            let unhealthy = counts[i] - min(counts[i], Self.available(rs))
            let cut = min(maxScaledDown, unhealthy)
            counts[i] -= cut
            maxScaledDown -= cut
        }
        var canCut = zip(sortedOld, counts).reduce(Self.available(newRS)) { $0 + min($1.1, Self.available($1.0)) } - minAvailable
        for i in counts.indices where canCut > 0 {
            let cut = min(counts[i], canCut)
            counts[i] -= cut
            canCut -= cut
        }
        for (rs, count) in zip(sortedOld, counts) where count != Self.specReplicas(rs) {
            _ = try await scale(rs, to: count, d)
            changed = true
        }
        return changed
    }

    /// Recreate: every old pod goes before the new ReplicaSet is scaled up.
    func recreate(_ d: JSON, newRS: JSON, old: [JSON], replicas: Int64) async throws {
        for rs in old where Self.specReplicas(rs) > 0 { _ = try await scale(rs, to: 0, d) }
        let oldUIDs = Set(old.compactMap(\.uid))
        let oldPods = oldUIDs.flatMap { pods.indexer.byIndex(Indexer.byController, $0) }
        if oldPods.isEmpty, Self.specReplicas(newRS) != replicas { _ = try await scale(newRS, to: replicas, d) }
    }

    /// Deletes old ReplicaSets with no replicas beyond revisionHistoryLimit, oldest first.
    func cleanUp(_ d: JSON, old: [JSON]) async throws {
        let limit = Int(d[path: ["spec", "revisionHistoryLimit"]]?.int64Value ?? 10)
        let idle = old.filter { Self.specReplicas($0) == 0 && ($0[path: ["status", "replicas"]]?.int64Value ?? 0) == 0 && $0.deletionTimestamp == nil }
            .sorted { (Int64($0.annotations[Self.revisionAnnotation] ?? "") ?? 0) < (Int64($1.annotations[Self.revisionAnnotation] ?? "") ?? 0) }
        for rs in idle.prefix(max(0, idle.count - limit)) {
            try await client.delete(.replicaSets, namespace: rs.namespace, rs.name ?? "", preconditionUID: rs.uid, ignoreNotFound: true)
        }
    }

    func scale(_ rs: JSON, to replicas: Int64, _ d: JSON) async throws -> JSON {
        let (surge, _) = Self.surgeAndUnavailable(d, replicas: d[path: ["spec", "replicas"]]?.int64Value ?? 1)
        let desired = d[path: ["spec", "replicas"]]?.int64Value ?? 1
        let patch: JSON = ["metadata": ["annotations": [Self.desiredReplicasAnnotation: .string(String(desired)),
                                                        Self.maxReplicasAnnotation: .string(String(desired + surge))],
                                        "resourceVersion": .string(rs.resourceVersion ?? "")],
                           "spec": ["replicas": .number(JSONNumber(replicas))]]
        let scaled = try await client.patch(.replicaSets, namespace: rs.namespace, rs.name ?? "", merge: patch)
        let from = DeploymentController.specReplicas(rs)
        if from != replicas {
            events.event(d, .deployments, type: "Normal", reason: "ScalingReplicaSet",
                         message: "Scaled \(replicas > from ? "up" : "down") replica set \(rs.name ?? "") to \(replicas) from \(from)")
        }
        return scaled
    }

    func annotate(_ rs: JSON, revision: Int64) async throws -> JSON {
        try await client.patch(.replicaSets, namespace: rs.namespace, rs.name ?? "",
                               merge: ["metadata": ["annotations": [Self.revisionAnnotation: .string(String(revision))]]])
    }

    func createReplicaSet(_ d: JSON, hash: String, revision: Int64, owned: [JSON]) async throws -> JSON? {
        var template = d[path: ["spec", "template"]] ?? [:]
        template[path: ["metadata", "labels", Self.hashLabel]] = .string(hash)
        var selector = d[path: ["spec", "selector"]] ?? [:]
        selector[path: ["matchLabels", Self.hashLabel]] = .string(hash)
        let replicas = d[path: ["spec", "replicas"]]?.int64Value ?? 1
        let recreate = d[path: ["spec", "strategy", "type"]]?.stringValue == "Recreate"
        // The first ReplicaSet starts at full size; later ones grow within the surge.
        let start: Int64 = recreate || !owned.isEmpty ? 0 : replicas
        let (surge, _) = Self.surgeAndUnavailable(d, replicas: replicas)
        var labels = stringMap(d[path: ["spec", "template", "metadata", "labels"]]).mapValues { JSON.string($0) }
        labels[Self.hashLabel] = .string(hash)
        var annotations: JSONObject = [Self.revisionAnnotation: .string(String(revision)),
                                       Self.desiredReplicasAnnotation: .string(String(replicas)),
                                       Self.maxReplicasAnnotation: .string(String(replicas + surge))]
        // Annotations the user set on the Deployment travel to its ReplicaSets, as upstream.
        for (k, v) in d.annotations where !k.hasPrefix("deployment.kubernetes.io/") && k != "kubectl.kubernetes.io/last-applied-configuration" {
            annotations[k] = .string(v)
        }
        var meta: JSON = ["name": .string("\(d.name ?? "")-\(hash)"), "labels": .object(JSONObject(labels.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 })),
                          "annotations": .object(annotations)]
        meta["ownerReferences"] = [ownerReference(d)]
        var spec: JSON = ["replicas": .number(JSONNumber(start)), "selector": selector, "template": template]
        if let minReady = d[path: ["spec", "minReadySeconds"]] { spec["minReadySeconds"] = minReady }
        let rs: JSON = ["apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta, "spec": spec]
        do {
            let created = try await client.create(.replicaSets, namespace: d.namespace, rs)
            if start > 0 {
                events.event(d, .deployments, type: "Normal", reason: "ScalingReplicaSet", message: "Scaled up replica set \(created.name ?? "") to \(start)")
            }
            return created
        } catch let e as ClientError where e.isAlreadyExists {
            // A ReplicaSet of that name with another template: a hash collision. Bump
            // collisionCount so the next sync hashes differently.
            let existing = try await client.get(.replicaSets, namespace: d.namespace, "\(d.name ?? "")-\(hash)")
            if controllerRef(existing)?["uid"]?.stringValue == d.uid, Self.sameTemplate(existing[path: ["spec", "template"]], d[path: ["spec", "template"]]) {
                return existing
            }
            var next = d
            next[path: ["status", "collisionCount"]] = .number(JSONNumber((d[path: ["status", "collisionCount"]]?.int64Value ?? 0) + 1))
            try await client.update(.deployments, next, subresource: "status")
            return nil
        }
    }

    // MARK: - Status

    func updateStatus(_ d: JSON, _ owned: [JSON], newRS: JSON?, progress: String?) async throws {
        let replicas = d[path: ["spec", "replicas"]]?.int64Value ?? 1
        func sum(_ field: String) -> Int64 { owned.reduce(0) { $0 + ($1[path: ["status", field]]?.int64Value ?? 0) } }
        let total = sum("replicas"), ready = sum("readyReplicas"), available = sum("availableReplicas")
        let updated = newRS?[path: ["status", "replicas"]]?.int64Value ?? 0
        let (_, maxUnavailable) = Self.surgeAndUnavailable(d, replicas: replicas)
        var status = d["status"]?.objectValue ?? JSONObject()
        if let g = d.generation { status["observedGeneration"] = .number(JSONNumber(g)) }
        status["replicas"] = .number(JSONNumber(total))
        status["updatedReplicas"] = .number(JSONNumber(updated))
        status["readyReplicas"] = .number(JSONNumber(ready))
        status["availableReplicas"] = .number(JSONNumber(available))
        status["unavailableReplicas"] = .number(JSONNumber(max(0, replicas - available)))
        for key in ["readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas", "replicas"] where status[key] == 0 {
            status[key] = nil  // omitempty, as upstream serializes them
        }
        var conditions = status["conditions"]?.arrayValue ?? []
        let time = now().rfc3339
        func set(_ type: String, _ value: String, _ reason: String, _ message: String) {
            var c: JSON = ["type": .string(type), "status": .string(value), "lastUpdateTime": .string(time),
                           "lastTransitionTime": .string(time), "reason": .string(reason), "message": .string(message)]
            if let i = conditions.firstIndex(where: { $0["type"]?.stringValue == type }) {
                let old = conditions[i]
                if old["status"] == c["status"] {
                    c["lastTransitionTime"] = old["lastTransitionTime"] ?? c["lastTransitionTime"]!
                    if old["reason"] == c["reason"], old["message"] == c["message"] { c["lastUpdateTime"] = old["lastUpdateTime"] ?? c["lastUpdateTime"]! }
                }
                conditions[i] = c
            } else {
                conditions.append(c)
            }
        }
        if available >= replicas - maxUnavailable {
            set("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        } else {
            set("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        }
        let rsName = newRS?.name ?? ""
        let complete = newRS != nil && updated == replicas && total == replicas && available >= replicas
        if d[path: ["spec", "paused"]]?.boolValue == true {
            set("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
        } else if complete {
            set("Progressing", "True", "NewReplicaSetAvailable", "ReplicaSet \"\(rsName)\" has successfully progressed.")
        } else if let progress {
            let message = progress == "NewReplicaSetCreated" ? "Created new replica set \"\(rsName)\"" : "ReplicaSet \"\(rsName)\" is progressing."
            set("Progressing", "True", progress, message)
        } else if let p = conditions.first(where: { $0["type"] == "Progressing" }), p["reason"] != "ProgressDeadlineExceeded",
                  let last = p["lastUpdateTime"]?.stringValue.flatMap(Timestamp.init(rfc3339:)),
                  last.adding(seconds: d[path: ["spec", "progressDeadlineSeconds"]]?.int64Value ?? 600) <= now() {
            set("Progressing", "False", "ProgressDeadlineExceeded", "ReplicaSet \"\(rsName)\" has timed out progressing.")
        } else if conditions.first(where: { $0["type"] == "Progressing" }) == nil {
            set("Progressing", "True", "ReplicaSetUpdated", "ReplicaSet \"\(rsName)\" is progressing.")
        }
        status["conditions"] = .array(conditions)
        guard JSON.object(status) != d["status"] else {
            // Nothing changed; check the progress deadline again when it would pass.
            if !complete, d[path: ["spec", "paused"]]?.boolValue != true, let deadline = d[path: ["spec", "progressDeadlineSeconds"]]?.int64Value {
                queue.add(objectKey(d), after: .seconds(min(deadline, 60)))
            }
            return
        }
        var next = d
        next["status"] = .object(status)
        do {
            try await client.update(.deployments, next, subresource: "status")
        } catch let e as ClientError where e.isNotFound {}
    }

    // MARK: - Templates

    /// The template's hash, as pod-template-hash: FNV-1a (32 bit) over the template's
    /// JSON with keys sorted, plus the collision count, in upstream's alphabet of
    /// characters that never spell words.
    static func templateHash(_ template: JSON, collisionCount: Int64) -> String {
        var bytes = canonical(template).serialized()
        if collisionCount > 0 { bytes += Array(String(collisionCount).utf8) }
        var h: UInt32 = 2_166_136_261
        for b in bytes {
            h ^= UInt32(b)
            h = h &* 16_777_619
        }
        return safeEncode(String(h))
    }

    /// Templates equal once the pod-template-hash label is set aside.
    static func sameTemplate(_ a: JSON?, _ b: JSON?) -> Bool {
        var a = a ?? [:], b = b ?? [:]
        a[path: ["metadata", "labels", hashLabel]] = nil
        b[path: ["metadata", "labels", hashLabel]] = nil
        return canonical(a) == canonical(b)
    }
}
