import SkiffAPI
import SkiffClient
import SkiffCore

/// Runs StatefulSets as upstream: pods with stable names, hostnames and claims, created
/// in ordinal order each after the previous is Running and Ready (OrderedReady) or all at
/// once (Parallel), removed highest ordinal first; templates kept as ControllerRevisions
/// (which `kubectl rollout history/undo` read) and rolled out from the highest ordinal
/// down to the partition (RollingUpdate) or left until pods are deleted (OnDelete).
public final class StatefulSetController: Controller {
    public let name = "statefulset"
    public let queue = WorkQueue(name: "statefulset")
    let client: Client
    let statefulSets: Informer
    let pods: Informer
    let controllerRevisions: Informer
    let claims: Informer
    let history: ControllerHistory
    let events: EventRecorder
    let now: @Sendable () -> Timestamp

    public init(factory: InformerFactory, now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        client = factory.client
        statefulSets = factory.informer(.statefulSets)
        pods = factory.informer(.pods)
        controllerRevisions = factory.informer(.controllerRevisions)
        claims = factory.informer(.persistentVolumeClaims)
        history = ControllerHistory(client: factory.client)
        events = EventRecorder(client: factory.client, component: "statefulset-controller")
        self.now = now
        statefulSets.addHandler { [queue] e in
            switch e {
            case .added(let o), .updated(_, let o), .deleted(let o): queue.add(objectKey(o))
            }
        }
        pods.addHandler { [weak self] e in self?.podChanged(e) }
        // A claim that goes away may be what a pod was waiting for (hasStaleClaim).
        claims.addHandler { [weak self] e in
            if case .deleted(let claim) = e { self?.enqueueClaiming(claim) }
        }
    }

    static func ownerKey(_ pod: JSON) -> String? { controllerKey(pod, kind: "StatefulSet") }

    func podChanged(_ e: InformerEvent) {
        switch e {
        case .added(let pod), .deleted(let pod):
            if let key = Self.ownerKey(pod) { queue.add(key) } else { enqueueSelecting(pod) }
        case .updated(let old, let new):
            if let key = Self.ownerKey(new) { queue.add(key) } else { enqueueSelecting(new) }
            if let oldKey = Self.ownerKey(old), oldKey != Self.ownerKey(new) { queue.add(oldKey) }
        }
    }

    func enqueueSelecting(_ pod: JSON) {
        for key in ControllerRefManager.adopters(of: pod, among: statefulSets.indexer.list(namespace: pod.namespace ?? ""), selector: Self.selector) {
            queue.add(key)
        }
    }

    /// The sets whose claim templates name `claim` (`<template>-<set>-<ordinal>`).
    func enqueueClaiming(_ claim: JSON) {
        let name = claim.name ?? ""
        for set in statefulSets.indexer.list(namespace: claim.namespace ?? "") {
            let prefixes = StatefulPods.claimTemplates(set).map { "\($0.name ?? "")-\(set.name ?? "")-" }
            if prefixes.contains(where: name.hasPrefix) { queue.add(objectKey(set)) }
        }
    }

    static func selector(_ set: JSON) -> LabelSelector {
        (try? LabelSelector(set[path: ["spec", "selector"]])) ?? .nothing
    }

    public func sync(key: String) async throws {
        guard let set = statefulSets.indexer.get(key) else { return }
        let namespace = set.namespace ?? ""
        let selector = Self.selector(set)
        let ownedRevisions = ControllerHistory.sorted(
            try await ControllerRefManager(client: client, resource: .controllerRevisions, owner: set, selector: selector)
                .claim(controllerRevisions.indexer.list(namespace: namespace)))
        let owned = try await ControllerRefManager(client: client, resource: .pods, owner: set, selector: selector)
            .claim(pods.indexer.list(namespace: namespace)) { StatefulPods.ordinal(of: $0, in: set) != nil }
        var collisionCount = set[path: ["status", "collisionCount"]]?.int64Value ?? 0
        let (current, update) = try await currentAndUpdateRevisions(set, revisions: ownedRevisions, collisionCount: &collisionCount)
        if set.deletionTimestamp == nil {
            try await reconcilePods(set, current: current, update: update, pods: owned)
        }
        try await updateStatus(set, pods: owned, current: current, update: update, collisionCount: collisionCount)
        try await truncateHistory(set, revisions: ownedRevisions, pods: owned, live: [current.name, update.name])
    }

    // MARK: - Revisions

    /// ApplyRevision: the set with the template a revision recorded.
    static func applying(_ revision: JSON, to set: JSON) -> JSON {
        guard var template = revision[path: ["data", "spec", "template"]] else { return set }
        template["$patch"] = nil
        var result = set
        result[path: ["spec", "template"]] = template
        return result
    }

    /// getStatefulSetRevisions: the revision the set's template is, and the revision
    /// status names as current (the update revision when there is none).
    func currentAndUpdateRevisions(_ set: JSON, revisions: [JSON], collisionCount: inout Int64) async throws -> (current: JSON, update: JSON) {
        let update = try await history.revision(of: set, among: revisions, collisionCount: &collisionCount)
        let currentName = set[path: ["status", "currentRevision"]]?.stringValue
        let current = revisions.first { $0.name == currentName && $0.name != update.name } ?? update
        return (current, update)
    }

    /// Deletes the oldest revisions beyond revisionHistoryLimit that no pod, and neither
    /// the current nor the update revision, is at.
    func truncateHistory(_ set: JSON, revisions: [JSON], pods: [JSON], live: [String?]) async throws {
        var inUse = Set(live.compactMap { $0 })
        for p in pods { if let r = p.labels[ControllerHistory.hashLabel] { inUse.insert(r) } }
        try await history.truncate(revisions, of: set, inUse: inUse)
    }

    // MARK: - Pods

    /// updateStatefulSet: one pass over the ordinals. OrderedReady stops at the first pod
    /// it creates, deletes or must wait for; Parallel goes on. Rolling updates replace one
    /// pod at a time (maxUnavailable at a time when set), highest ordinal first.
    func reconcilePods(_ set: JSON, current: JSON, update: JSON, pods: [JSON]) async throws {
        let start = StatefulPods.startOrdinal(set)
        let count = StatefulPods.replicas(set)
        let ordered = set[path: ["spec", "podManagementPolicy"]]?.stringValue != "Parallel"
        let currentSet = Self.applying(current, to: set), updateSet = Self.applying(update, to: set)
        var replicas = [JSON?](repeating: nil, count: count)
        var condemned: [(ordinal: Int, pod: JSON)] = []
        for pod in pods {
            guard let ordinal = StatefulPods.ordinal(of: pod, in: set) else { continue }
            if ordinal >= start, ordinal < start + count { replicas[ordinal - start] = pod } else { condemned.append((ordinal, pod)) }
        }
        condemned.sort { $0.ordinal > $1.ordinal }
        let minReady = set[path: ["spec", "minReadySeconds"]]?.int64Value ?? 0
        let partition = set[path: ["spec", "updateStrategy", "rollingUpdate", "partition"]]?.intValue ?? 0
        let rolling = set[path: ["spec", "updateStrategy", "type"]]?.stringValue ?? "RollingUpdate" == "RollingUpdate"
        let now = now()
        func unavailable(_ pod: JSON?) -> Bool {
            guard let pod else { return true }
            return !StatefulPods.isHealthy(pod) || !isAvailable(pod, minReadySeconds: minReady, now: now)
        }

        for (i, slot) in replicas.enumerated() {
            let ordinal = start + i
            guard let pod = slot else {
                if hasStaleClaim(set, ordinal: ordinal) {
                    if ordered { return }
                    continue
                }
                // newVersionedStatefulSetPod: below the partition a new pod keeps the current revision.
                let fromCurrent = rolling && i < partition
                try await createClaims(set, ordinal: ordinal)
                try await createPod(StatefulPods.newPod(fromCurrent ? currentSet : updateSet, owner: set, ordinal: ordinal,
                                                        revision: (fromCurrent ? current.name : update.name) ?? ""), set: set)
                if ordered { return }
                continue
            }
            if StatefulPods.hasFinished(pod) {
                // A pod that failed or succeeded is deleted and made again once it is gone.
                if pod.deletionTimestamp == nil { try await deletePod(pod, set: set) }
                if ordered { return }
                continue
            }
            // A pod that has not started may still lack a claim (created by another sync, or deleted).
            if pod[path: ["status", "phase"]]?.stringValue == "Pending" { try await createClaims(set, ordinal: ordinal) }
            // OrderedReady: every predecessor Running, Ready and available before going on.
            if ordered, unavailable(pod) { return }
            guard pod.deletionTimestamp == nil else { continue }
            if let patch = StatefulPods.identityLabelPatch(pod, ordinal: ordinal) {
                try await client.patch(.pods, namespace: pod.namespace, pod.name ?? "", merge: patch)
            }
            try await setClaimOwners(set, pod: pod, ordinal: ordinal, condemned: false)
        }

        // Scale down: first the claims' owners for the retention policy, then the pods,
        // highest ordinal first; OrderedReady one at a time, each gone before the next,
        // and none while a lower condemned pod is unavailable (upstream's firstUnhealthyPod).
        for (ordinal, pod) in condemned {
            try await setClaimOwners(set, pod: pod, ordinal: ordinal, condemned: true)
        }
        let firstUnavailable = condemned.last { unavailable($0.pod) }?.pod.uid
        for (_, pod) in condemned {
            if pod.deletionTimestamp != nil {
                if ordered { return }
                continue
            }
            if ordered, unavailable(pod), pod.uid != firstUnavailable { return }
            try await deletePod(pod, set: set)
            if ordered { return }
        }

        guard rolling else { return }  // OnDelete: pods change template only when deleted.
        let maxUnavailable = Self.maxUnavailable(set, replicas: count)
        // From the top down to the partition: an old pod is deleted (to come back at the
        // update revision), an unavailable one is waited for; each uses up the budget.
        var budget = maxUnavailable
        for i in (min(partition, count)..<count).reversed() where budget > 0 {
            if let pod = replicas[i], pod.deletionTimestamp == nil, pod.labels[ControllerHistory.hashLabel] != update.name {
                try await deletePod(pod, set: set)
                budget -= 1
            } else if unavailable(replicas[i]) {
                budget -= 1
            }
        }
    }

    /// rollingUpdate.maxUnavailable (a number, or a percentage of replicas rounded down), at least 1.
    static func maxUnavailable(_ set: JSON, replicas: Int) -> Int {
        guard let v = set[path: ["spec", "updateStrategy", "rollingUpdate", "maxUnavailable"]] else { return 1 }
        if let n = v.intValue { return max(1, n) }
        if let s = v.stringValue, s.hasSuffix("%"), let p = Double(s.dropLast()) { return max(1, Int((p * Double(replicas) / 100).rounded(.down))) }
        return 1
    }

    func createPod(_ pod: JSON, set: JSON) async throws {
        do {
            try await client.create(.pods, namespace: set.namespace, pod)
            await recordPodEvent("create", set: set, pod: pod, error: nil)
        } catch let e as ClientError where e.isAlreadyExists {
            // Made already and not yet seen, or a pod of that name the set does not own:
            // either way this ordinal waits.
        } catch {
            await recordPodEvent("create", set: set, pod: pod, error: error)
            throw error
        }
    }

    func deletePod(_ pod: JSON, set: JSON) async throws {
        do {
            try await client.delete(.pods, namespace: pod.namespace, pod.name ?? "", preconditionUID: pod.uid)
            await recordPodEvent("delete", set: set, pod: pod, error: nil)
        } catch let e as ClientError where e.isNotFound || e.isConflict {
            // Gone already, or replaced by a pod of the same name the next sync will see.
        } catch {
            await recordPodEvent("delete", set: set, pod: pod, error: error)
            throw error
        }
    }

    /// The events upstream's StatefulPodControl records on the set.
    func recordPodEvent(_ verb: String, set: JSON, pod: JSON, error: (any Error)?) async {
        let title = verb.prefix(1).uppercased() + verb.dropFirst()
        let what = "\(verb) Pod \(pod.name ?? "") in StatefulSet \(set.name ?? "")"
        if let error {
            events.event(set, .statefulSets, type: "Warning", reason: "Failed\(title)", message: "\(what) failed error: \(errorMessage(error))")
        } else {
            events.event(set, .statefulSets, type: "Normal", reason: "Successful\(title)", message: "\(what) successful")
        }
    }

    // MARK: - Claims

    /// createPersistentVolumeClaims: the pod's claims exist before the pod; a claim being
    /// deleted must be gone before the pod can be made again.
    func createClaims(_ set: JSON, ordinal: Int) async throws {
        for claim in StatefulPods.claims(set, ordinal: ordinal) {
            if let existing = claims.indexer.get("\(set.namespace ?? "")/\(claim.name ?? "")") {
                if existing.deletionTimestamp != nil {
                    throw ClientError(code: 0, reason: "ClaimTerminating", message: "pvc \(claim.name ?? "") is being deleted")
                }
                continue
            }
            var claim = claim
            if set[path: ["spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"]]?.stringValue == "Delete" {
                claim[path: ["metadata", "ownerReferences"]] = [ownerReference(set)]
            }
            let what = "create Claim \(claim.name ?? "")"
            let pod = StatefulPods.podName(set, ordinal)
            do {
                try await client.create(.persistentVolumeClaims, namespace: set.namespace, claim)
                events.event(set, .statefulSets, type: "Normal", reason: "SuccessfulCreate", message: "\(what) Pod \(pod) in StatefulSet \(set.name ?? "") success")
            } catch let e as ClientError where e.isAlreadyExists {
                // Made by an earlier sync and not yet seen: nothing to do.
            } catch {
                events.event(set, .statefulSets, type: "Warning", reason: "FailedCreate", message: "\(what) for Pod \(pod) in StatefulSet \(set.name ?? "") failed error: \(errorMessage(error))")
                throw error
            }
        }
    }

    /// PodClaimIsStale: a claim still owned by an earlier pod of this name (left by a
    /// scale-down with whenScaled=Delete) is about to be collected, so the new pod waits
    /// for it to go rather than start on storage that is being deleted.
    func hasStaleClaim(_ set: JSON, ordinal: Int) -> Bool {
        guard set[path: ["spec", "persistentVolumeClaimRetentionPolicy", "whenScaled"]]?.stringValue == "Delete" else { return false }
        let podName = StatefulPods.podName(set, ordinal)
        return StatefulPods.claims(set, ordinal: ordinal).contains { claim in
            let existing = claims.indexer.get("\(set.namespace ?? "")/\(claim.name ?? "")")
            return existing?.ownerReferences.contains { $0["kind"] == "Pod" && $0["name"]?.stringValue == podName } == true
        }
    }

    /// persistentVolumeClaimRetentionPolicy through controller references, as upstream's
    /// updateClaimOwnerRefForSetAndPod: with whenDeleted=Delete a claim is controlled by
    /// the set (collected with it); with whenScaled=Delete the claim of a pod removed by a
    /// scale-down is controlled by that pod instead (collected after it). A claim another
    /// controller owns only loses the set's and pod's references.
    func setClaimOwners(_ set: JSON, pod: JSON, ordinal: Int, condemned: Bool) async throws {
        let policy = set[path: ["spec", "persistentVolumeClaimRetentionPolicy"]]
        let byPod = condemned && policy?["whenScaled"]?.stringValue == "Delete"
        let bySet = !byPod && policy?["whenDeleted"]?.stringValue == "Delete"
        var podRef = pod
        podRef.apiVersion = "v1"
        podRef.kind = "Pod"
        for template in StatefulPods.claimTemplates(set) {
            let name = StatefulPods.claimName(template, set, ordinal)
            guard let claim = claims.indexer.get("\(set.namespace ?? "")/\(name)") else { continue }
            let ours = [set.uid, pod.uid]
            let others = claim.ownerReferences.filter { !ours.contains($0["uid"]?.stringValue) }
            let foreignController = others.contains { $0["controller"]?.boolValue == true }
            let want = others + (foreignController ? [] : (bySet ? [ownerReference(set)] : []) + (byPod ? [ownerReference(podRef)] : []))
            guard want != claim.ownerReferences else { continue }
            try await setOwnerReferences(client, .persistentVolumeClaims, claim, want)
        }
    }

    // MARK: - Status

    /// The counts upstream reports; a finished rolling update (spec.replicas pods, every
    /// one updated and ready) makes the update revision current.
    func updateStatus(_ set: JSON, pods: [JSON], current: JSON, update: JSON, collisionCount: Int64) async throws {
        let minReady = set[path: ["spec", "minReadySeconds"]]?.int64Value ?? 0
        let now = now()
        var replicas = 0, ready = 0, available = 0, currentCount = 0, updated = 0
        var soonest: Int64?
        for pod in pods {
            replicas += 1
            if StatefulPods.isRunningAndReady(pod) {
                ready += 1
                if isAvailable(pod, minReadySeconds: minReady, now: now) {
                    available += 1
                } else if let since = readyCondition(pod)?["lastTransitionTime"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) {
                    let wait = since.adding(seconds: minReady).seconds - now.seconds
                    soonest = min(soonest ?? wait, wait)
                }
            }
            guard pod.deletionTimestamp == nil else { continue }
            let revision = pod.labels[ControllerHistory.hashLabel]
            if revision == current.name { currentCount += 1 }
            if revision == update.name { updated += 1 }
        }
        // Ready pods become available with time alone: look again when the first will be.
        if let soonest { queue.add(objectKey(set), after: .seconds(max(1, soonest))) }
        var currentName = current.name ?? ""
        let rolling = set[path: ["spec", "updateStrategy", "type"]]?.stringValue ?? "RollingUpdate" == "RollingUpdate"
        let want = StatefulPods.replicas(set)
        if rolling, updated == want, ready == want, replicas == want {
            currentCount = updated
            currentName = update.name ?? ""
        }
        var status = set["status"]?.objectValue ?? JSONObject()
        if let g = set.generation { status["observedGeneration"] = .number(JSONNumber(g)) }
        status["replicas"] = .number(JSONNumber(replicas))
        status["readyReplicas"] = .number(JSONNumber(ready))
        status["currentReplicas"] = .number(JSONNumber(currentCount))
        status["updatedReplicas"] = .number(JSONNumber(updated))
        status["availableReplicas"] = .number(JSONNumber(available))
        status["currentRevision"] = .string(currentName)
        status["updateRevision"] = .string(update.name ?? "")
        status["collisionCount"] = .number(JSONNumber(collisionCount))
        for key in ["readyReplicas", "currentReplicas", "updatedReplicas"] where status[key] == 0 {
            status[key] = nil  // omitempty, as upstream serializes them
        }
        guard JSON.object(status) != set["status"] else { return }
        // Onto the newest set on a conflict (its observedGeneration still says which spec
        // it describes), so the revisions this sync settled on are not lost.
        _ = try await updateStatusOntoNewest(client, .statefulSets, set, status: .object(status))
    }
}
