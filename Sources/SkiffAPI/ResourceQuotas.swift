import SkiffCore

/// What a ResourceQuota counts, shared by the API server's admission (the usage a new
/// object adds) and the quota controller (the usage of everything in the namespace).
public enum ResourceQuotas {
    /// The usage `object` of `resource` in `group` is charged: its object count and, for
    /// pods, services and claims, what they ask for.
    public static func usage(of object: JSON, resource: String, group: String) -> [String: Quantity] {
        var u: [String: Quantity] = ["count/" + (group.isEmpty ? resource : "\(resource).\(group)"): Quantity(1)]
        guard group.isEmpty else { return u }
        switch resource {
        case "pods":
            guard counts(pod: object) else { return [:] }
            u.merge(podUsage(object)) { a, _ in a }
        case "services":
            u["services"] = Quantity(1)
            let type = object[path: ["spec", "type"]]?.stringValue ?? "ClusterIP"
            if type == "LoadBalancer" { u["services.loadbalancers"] = Quantity(1) }
            if type == "NodePort" || type == "LoadBalancer" {
                u["services.nodeports"] = Quantity(Int64(object[path: ["spec", "ports"]]?.arrayValue?.count ?? 0))
            }
        case "persistentvolumeclaims":
            u["persistentvolumeclaims"] = Quantity(1)
            if let q = object[path: ["spec", "resources", "requests", "storage"]].flatMap({ try? Quantity(json: $0) }) { u["requests.storage"] = q }
        case "configmaps", "secrets", "replicationcontrollers", "resourcequotas":
            u[resource] = Quantity(1)
        default: break
        }
        return u
    }

    /// Pods that finished, or whose grace period has run out, no longer count.
    public static func counts(pod: JSON) -> Bool {
        let phase = pod[path: ["status", "phase"]]?.stringValue
        if phase == "Succeeded" || phase == "Failed" { return false }
        if let deadline = pod.deletionTimestamp.flatMap(Timestamp.init(rfc3339:)), deadline < Timestamp.now() { return false }
        return true
    }

    /// A pod's requests and limits as the scheduler counts them: the larger of the
    /// containers' sum and any init container, plus the overhead.
    static func podUsage(_ pod: JSON) -> [String: Quantity] {
        func total(_ kind: String) -> [String: Quantity] {
            var sum: [String: Quantity] = [:]
            for c in pod[path: ["spec", "containers"]]?.arrayValue ?? [] {
                for (name, v) in c[path: ["resources", kind]]?.objectValue ?? JSONObject() {
                    if let q = try? Quantity(json: v) { sum[name, default: .zero] += q }
                }
            }
            for c in pod[path: ["spec", "initContainers"]]?.arrayValue ?? [] {
                for (name, v) in c[path: ["resources", kind]]?.objectValue ?? JSONObject() {
                    if let q = try? Quantity(json: v), q > sum[name, default: .zero] { sum[name] = q }
                }
            }
            for (name, v) in pod[path: ["spec", "overhead"]]?.objectValue ?? JSONObject() {
                if let q = try? Quantity(json: v) { sum[name, default: .zero] += q }
            }
            return sum
        }
        var u: [String: Quantity] = ["pods": Quantity(1)]
        for (name, q) in total("requests") {
            u["requests.\(name)"] = q
            if name == "cpu" || name == "memory" || name == "ephemeral-storage" { u[name] = q }
        }
        for (name, q) in total("limits") { u["limits.\(name)"] = q }
        return u
    }

    /// Whether a quota's scopes (Terminating, NotTerminating, BestEffort, NotBestEffort,
    /// PriorityClass — from spec.scopes or spec.scopeSelector) take in `object`; objects
    /// other than pods fall only under quotas without scopes.
    public static func scopesMatch(_ quota: JSON, _ object: JSON, isPod: Bool) -> Bool {
        var requirements = (quota[path: ["spec", "scopes"]]?.arrayValue ?? []).compactMap(\.stringValue).map { ($0, "Exists", [String]()) }
        for e in quota[path: ["spec", "scopeSelector", "matchExpressions"]]?.arrayValue ?? [] {
            requirements.append((e["scopeName"]?.stringValue ?? "", e["operator"]?.stringValue ?? "",
                                 (e["values"]?.arrayValue ?? []).compactMap(\.stringValue)))
        }
        guard !requirements.isEmpty else { return true }
        guard isPod else { return false }
        let terminating = object[path: ["spec", "activeDeadlineSeconds"]] != nil
        let bestEffort = (object[path: ["spec", "containers"]]?.arrayValue ?? []).allSatisfy {
            ($0[path: ["resources", "requests"]]?.objectValue?.isEmpty ?? true) && ($0[path: ["resources", "limits"]]?.objectValue?.isEmpty ?? true)
        }
        let priorityClass = object[path: ["spec", "priorityClassName"]]?.stringValue ?? ""
        return requirements.allSatisfy { scope, op, values in
            switch scope {
            case "Terminating": terminating
            case "NotTerminating": !terminating
            case "BestEffort": bestEffort
            case "NotBestEffort": !bestEffort
            // As upstream: the pod's class is matched as a label that is always present.
            case "PriorityClass":
                switch op {
                case "In": values.contains(priorityClass)
                case "NotIn": !values.contains(priorityClass)
                case "Exists": !priorityClass.isEmpty
                default: false
                }
            default: false
            }
        }
    }

    /// The resource (and group) whose objects a quota key counts.
    public static func source(of key: String) -> (resource: String, group: String)? {
        if key.hasPrefix("count/") {
            let name = key.dropFirst(6)
            guard let dot = name.firstIndex(of: ".") else { return (String(name), "") }
            return (String(name[..<dot]), String(name[name.index(after: dot)...]))
        }
        switch key {
        case "pods", "cpu", "memory", "ephemeral-storage": return ("pods", "")
        case "services", "services.nodeports", "services.loadbalancers": return ("services", "")
        case "persistentvolumeclaims", "requests.storage": return ("persistentvolumeclaims", "")
        case "configmaps", "secrets", "replicationcontrollers", "resourcequotas": return (key, "")
        default: return key.hasPrefix("requests.") || key.hasPrefix("limits.") ? ("pods", "") : nil
        }
    }

    /// "k=v,k=v" in key order, as upstream prints resource lists in quota errors.
    public static func describe(_ list: [String: Quantity]) -> String {
        list.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}
