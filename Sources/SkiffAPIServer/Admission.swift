import SkiffAPI
import SkiffCore

/// The mutating and validating admission plugins kube-apiserver enables by default that
/// need other objects than the one written: LimitRanger, Priority (and PriorityClass' one
/// default) run after defaulting and before validation, as upstream's chain does;
/// ResourceQuota (Admission+Quota.swift) last, once the object is valid.
extension APIHandler {
    /// Upstream's HighestUserDefinablePriority: above it only the system classes.
    static let highestUserDefinablePriority: Int64 = 1_000_000_000

    func admitCreate(_ r: ResourceInfo, _ object: inout JSON) async throws(APIError) {
        switch (r.group, r.kind) {
        case ("", "Pod"):
            try await admitLimitRanges(&object, namespace: object.namespace ?? "")
            try await admitPriority(&object)
        case ("scheduling.k8s.io", "PriorityClass"): try await admitPriorityClass(object)
        default: break
        }
    }

    func admitUpdate(_ r: ResourceInfo, _ object: JSON, old: JSON) async throws(APIError) {
        if r.group == "scheduling.k8s.io", r.kind == "PriorityClass" { try await admitPriorityClass(object) }
    }

    func forbidden(_ r: ResourceInfo, _ name: String, _ why: String) -> APIError {
        .forbidden(r.resource, name, group: r.group, why)
    }

    func priorityClasses() async throws(APIError) -> [JSON] {
        guard let classes = registry.lookup(group: "scheduling.k8s.io", version: "v1", resource: "priorityclasses") else { return [] }
        var out: [JSON] = []
        for o in await cache.list(classes, filter: ObjectFilter()).items { out.append(try parseStored(o.bytes)) }
        return out
    }

    /// Priority admission: spec.priority and spec.preemptionPolicy come from the pod's
    /// PriorityClass (or the global default, or 0); a pod may not set them otherwise.
    func admitPriority(_ pod: inout JSON) async throws(APIError) {
        guard let pods = registry.lookup(group: "", version: "v1", resource: "pods") else { return }
        let className = pod[path: ["spec", "priorityClassName"]]?.stringValue ?? ""
        let classes = try await priorityClasses()
        var priority: Int64 = 0
        var policy = "PreemptLowerPriority"
        if className.isEmpty {
            if let fallback = classes.filter({ $0["globalDefault"]?.boolValue == true }).min(by: { ($0["value"]?.int64Value ?? 0) < ($1["value"]?.int64Value ?? 0) }) {
                pod[path: ["spec", "priorityClassName"]] = .string(fallback.name ?? "")
                priority = fallback["value"]?.int64Value ?? 0
                policy = fallback["preemptionPolicy"]?.stringValue ?? policy
            }
        } else {
            guard let pc = classes.first(where: { $0.name == className }) else {
                throw forbidden(pods, pod.name ?? "", "no PriorityClass with name \(className) was found")
            }
            priority = pc["value"]?.int64Value ?? 0
            policy = pc["preemptionPolicy"]?.stringValue ?? policy
        }
        if let given = pod[path: ["spec", "priority"]]?.int64Value, given != priority {
            throw forbidden(pods, pod.name ?? "", "the integer value of priority (\(given)) must not be provided in pod spec; priority admission controller computed \(priority) from the given PriorityClass name")
        }
        if let given = pod[path: ["spec", "preemptionPolicy"]]?.stringValue, given != policy {
            throw forbidden(pods, pod.name ?? "", "the string value of PreemptionPolicy (\(given)) must not be provided in pod spec; priority admission controller computed \(policy) from the given PriorityClass name")
        }
        pod[path: ["spec", "priority"]] = .number(JSONNumber(priority))
        pod[path: ["spec", "preemptionPolicy"]] = .string(policy)
    }

    /// One global default at most; values above a billion are the system classes' alone.
    func admitPriorityClass(_ pc: JSON) async throws(APIError) {
        guard let classes = registry.lookup(group: "scheduling.k8s.io", version: "v1", resource: "priorityclasses") else { return }
        let name = pc.name ?? ""
        if pc["globalDefault"]?.boolValue == true,
           let other = try await priorityClasses().first(where: { $0["globalDefault"]?.boolValue == true && $0.name != name }) {
            throw forbidden(classes, name, "PriorityClass \(other.name ?? "") is already marked as default. Only one default can exist")
        }
    }
}
