import SkiffAPI
import SkiffCore

/// pods/eviction: a delete that a PodDisruptionBudget may refuse, as kube-apiserver's
/// eviction REST does. The budget's disruptionsAllowed is decremented and the pod noted
/// in status.disruptedPods in one compare-and-swap write before the pod is deleted, so
/// two concurrent evictions never spend the same disruption.
extension APIHandler {
    /// Upstream's cap on evictions the disruption controller has not yet confirmed.
    static let maxDisruptedPods = 2000

    func evict(_ pods: ResourceInfo, _ namespace: String, _ name: String, _ req: APIRequest) async throws(APIError) -> APIResponse {
        let eviction = try BodyDecoding.decodeObject(req)
        if let own = eviction.name, !own.isEmpty, own != name {
            throw .badRequest("name in URL does not match name in Eviction object")
        }
        var options = try DeleteOptions(APIRequest(method: "DELETE", path: req.path, body: eviction["deleteOptions"]?.serialized() ?? []))
        options.gracePeriodSeconds = options.gracePeriodSeconds ?? eviction[path: ["deleteOptions", "gracePeriodSeconds"]]?.int64Value
        let dryRun = try isDryRun(req)
        await consistentRead()
        guard let cached = await cache.get(pods, key: pods.key(namespace: namespace, name: name)) else { throw pods.notFound(name) }
        let pod = try parseStored(cached.bytes)
        if options.preconditionUID == nil { options.preconditionUID = pod.uid }

        if let pdb = try await budgetToSpend(pod) {
            try await spendDisruption(pdb, namespace, pod, req, dryRun: dryRun)
        }
        if !dryRun { try await markDisruptionTarget(pods, namespace, name, req) }
        _ = try await deleteObject(pods, namespace, name, options, dryRun: dryRun)
        let status: JSON = ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201]
        return .json(201, status)
    }

    /// The budget the eviction must take a disruption from, if any. Pods already going,
    /// finished, or never started go without one; so does a not-ready pod under an
    /// AlwaysAllow policy, or under IfHealthyBudget when the budget is met without it.
    func budgetToSpend(_ pod: JSON) async throws(APIError) -> JSON? {
        if pod.deletionTimestamp != nil { return nil }
        if ["Succeeded", "Failed", "Pending"].contains(pod[path: ["status", "phase"]]?.stringValue ?? "Pending") { return nil }
        guard let pdb = try await budget(for: pod) else { return nil }
        let ready = (pod[path: ["status", "conditions"]]?.arrayValue ?? []).contains { $0["type"] == "Ready" && $0["status"] == "True" }
        if !ready {
            switch pdb[path: ["spec", "unhealthyPodEvictionPolicy"]]?.stringValue {
            case "AlwaysAllow": return nil
            default:
                let desired = pdb[path: ["status", "desiredHealthy"]]?.int64Value ?? 0
                if desired > 0, (pdb[path: ["status", "currentHealthy"]]?.int64Value ?? 0) >= desired { return nil }
            }
        }
        return pdb
    }

    /// The one PodDisruptionBudget selecting `pod`, if any; more than one is an error.
    func budget(for pod: JSON) async throws(APIError) -> JSON? {
        guard let pdbs = registry.lookup(group: "policy", version: "v1", resource: "poddisruptionbudgets") else { return nil }
        let (items, _) = await cache.list(pdbs, filter: ObjectFilter(namespace: pod.namespace))
        var matching: [JSON] = []
        for item in items {
            let pdb = try parseStored(item.bytes)
            guard let selector = try? LabelSelector(pdb[path: ["spec", "selector"]]), selector.matches(pod.labels) else { continue }
            matching.append(pdb)
        }
        if matching.count > 1 {
            throw .internalError("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
        }
        return matching.first
    }

    /// Takes one disruption from `found` (re-read in the compare-and-swap) or refuses with 429.
    func spendDisruption(_ found: JSON, _ namespace: String, _ pod: JSON, _ req: APIRequest, dryRun: Bool) async throws(APIError) {
        guard let pdbs = registry.lookup(group: "policy", version: "v1", resource: "poddisruptionbudgets") else { return }
        let podName = pod.name ?? ""
        let check = { (pdb: JSON) throws(APIError) -> JSON in
            let name = pdb.name ?? ""
            func refused(_ cause: String) -> APIError {
                APIError(code: 429, reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget.",
                         causes: [.init(type: "DisruptionBudget", message: cause, field: "")])
            }
            if (pdb[path: ["status", "observedGeneration"]]?.int64Value ?? 0) < (pdb.generation ?? 0) {
                throw refused("The disruption budget \(name) is still being processed by the server.")
            }
            let allowed = pdb[path: ["status", "disruptionsAllowed"]]?.int64Value ?? 0
            if allowed < 0 { throw .forbidden("pdb disruptions allowed is negative") }
            var disrupted = pdb[path: ["status", "disruptedPods"]]?.objectValue ?? JSONObject()
            if disrupted.count > Self.maxDisruptedPods {
                throw .forbidden("DisruptedPods map too big - too many evictions not confirmed by PDB controller")
            }
            if allowed == 0 {
                let desired = pdb[path: ["status", "desiredHealthy"]]?.int64Value ?? 0
                let current = pdb[path: ["status", "currentHealthy"]]?.int64Value ?? 0
                throw refused("The disruption budget \(name) needs \(desired) healthy pods and has \(current) currently")
            }
            var next = pdb
            next[path: ["status", "disruptionsAllowed"]] = .number(JSONNumber(allowed - 1))
            disrupted[podName] = .string(Timestamp.now().rfc3339)
            next[path: ["status", "disruptedPods"]] = .object(disrupted)
            if allowed == 1 {
                next[path: ["status", "conditions"]] = .array(PodDisruptionBudgets.allowedCondition(next, allowed: false))
            }
            return next
        }
        if dryRun {
            _ = try check(found)
            return
        }
        _ = try await guaranteedUpdate(pdbs, namespace, found.name ?? "", req, validateUpdate: false, transform: check)
    }

    /// The DisruptionTarget condition upstream puts on an evicted pod before deleting it.
    func markDisruptionTarget(_ pods: ResourceInfo, _ namespace: String, _ name: String, _ req: APIRequest) async throws(APIError) {
        _ = try await guaranteedUpdate(pods, namespace, name, req, validateUpdate: false) { current throws(APIError) in
            var next = current
            var conditions = (current[path: ["status", "conditions"]]?.arrayValue ?? []).filter { $0["type"] != "DisruptionTarget" }
            conditions.append(["type": "DisruptionTarget", "status": "True", "lastProbeTime": nil, "lastTransitionTime": .string(Timestamp.now().rfc3339),
                               "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"])
            next[path: ["status", "conditions"]] = .array(conditions)
            return next
        }
    }
}
