import SkiffAPI
import SkiffCore

/// LimitRanger and ResourceQuota admission, as kube-apiserver enables them by default.
extension APIHandler {
    /// LimitRanger: containers without requests or limits get the namespace's defaults
    /// (noted in the kubernetes.io/limit-ranger annotation); a container or pod outside
    /// a range's min or max is refused.
    func admitLimitRanges(_ pod: inout JSON, namespace: String) async throws(APIError) {
        guard let pods = registry.lookup(group: "", version: "v1", resource: "pods"),
              let ranges = registry.lookup(group: "", version: "v1", resource: "limitranges") else { return }
        let items = await cache.list(ranges, filter: ObjectFilter(namespace: namespace)).items
        guard !items.isEmpty else { return }
        var notes: [String] = []
        var errors: [String] = []
        for item in items {
            let range = try parseStored(item.bytes)
            for limit in range[path: ["spec", "limits"]]?.arrayValue ?? [] {
                switch limit["type"]?.stringValue {
                case "Container":
                    notes += Self.applyContainerDefaults(&pod, limit)
                    for c in pod[path: ["spec", "containers"]]?.arrayValue ?? [] {
                        errors += Self.rangeErrors(limit, requests: Self.resourceList(c[path: ["resources", "requests"]]),
                                                   limits: Self.resourceList(c[path: ["resources", "limits"]]), per: "Container")
                    }
                case "Pod":
                    var requests: [String: Quantity] = [:], limits: [String: Quantity] = [:]
                    for c in pod[path: ["spec", "containers"]]?.arrayValue ?? [] {
                        requests.merge(Self.resourceList(c[path: ["resources", "requests"]]), uniquingKeysWith: +)
                        limits.merge(Self.resourceList(c[path: ["resources", "limits"]]), uniquingKeysWith: +)
                    }
                    errors += Self.rangeErrors(limit, requests: requests, limits: limits, per: "Pod")
                default: break
                }
            }
        }
        if !notes.isEmpty {
            pod[path: ["metadata", "annotations", "kubernetes.io/limit-ranger"]] = .string("LimitRanger plugin set: " + notes.joined(separator: "; "))
        }
        if !errors.isEmpty {
            throw .forbidden(pods.resource, pod.name ?? "", errors.count == 1 ? errors[0] : "[" + errors.joined(separator: ", ") + "]")
        }
    }

    static func resourceList(_ json: JSON?) -> [String: Quantity] {
        var out: [String: Quantity] = [:]
        for (k, v) in json?.objectValue ?? JSONObject() { if let q = try? Quantity(json: v) { out[k] = q } }
        return out
    }

    /// Fills in default limits and requests; returns what it set, per container.
    static func applyContainerDefaults(_ pod: inout JSON, _ limit: JSON) -> [String] {
        guard var containers = pod[path: ["spec", "containers"]]?.arrayValue else { return [] }
        var notes: [String] = []
        for i in containers.indices {
            let container = containers[i]["name"]?.stringValue ?? ""
            for (kind, source) in [("requests", "defaultRequest"), ("limits", "default")] {
                var list = containers[i][path: ["resources", kind]]?.objectValue ?? JSONObject()
                var names: [String] = []
                for (name, value) in (limit[source]?.objectValue ?? JSONObject()).sorted(by: { $0.0 < $1.0 }) where list[name] == nil {
                    list[name] = value
                    names.append(name)
                }
                guard !names.isEmpty else { continue }
                containers[i][path: ["resources", kind]] = .object(list)
                notes.append("\(names.joined(separator: ", ")) \(kind == "requests" ? "request" : "limit") for container \(container)")
            }
        }
        pod[path: ["spec", "containers"]] = .array(containers)
        return notes
    }

    /// Upstream's min and max messages, word for word.
    static func rangeErrors(_ limit: JSON, requests: [String: Quantity], limits: [String: Quantity], per: String) -> [String] {
        var errors: [String] = []
        for (name, min) in resourceList(limit["min"]).sorted(by: { $0.key < $1.key }) {
            if let r = requests[name] {
                if r < min { errors.append("minimum \(name) usage per \(per) is \(min), but request is \(r)") }
            } else {
                errors.append("minimum \(name) usage per \(per) is \(min).  No request is specified")
            }
        }
        for (name, max) in resourceList(limit["max"]).sorted(by: { $0.key < $1.key }) {
            if let l = limits[name] {
                if l > max { errors.append("maximum \(name) usage per \(per) is \(max), but limit is \(l)") }
            } else {
                errors.append("maximum \(name) usage per \(per) is \(max).  No limit is specified")
            }
        }
        return errors
    }

    /// ResourceQuota: the new object's usage is added to each matching quota's
    /// status.used in one compare-and-swap write per quota, or the create is refused.
    /// The quota controller later recounts from what really exists.
    func chargeQuota(_ r: ResourceInfo, _ namespace: String, _ object: JSON, _ req: APIRequest, dryRun: Bool) async throws(APIError) {
        guard r.namespaced, let quotas = registry.lookup(group: "", version: "v1", resource: "resourcequotas") else { return }
        let items = await cache.list(quotas, filter: ObjectFilter(namespace: namespace)).items
        guard !items.isEmpty else { return }
        let usage = ResourceQuotas.usage(of: object, resource: r.resource, group: r.group)
        let isPod = r.group.isEmpty && r.resource == "pods"
        for item in items {
            let quota = try parseStored(item.bytes)
            guard ResourceQuotas.scopesMatch(quota, object, isPod: isPod) else { continue }
            let quotaName = quota.name ?? ""
            let hardKeys = Set(quota[path: ["spec", "hard"]]?.objectValue?.keys ?? [])
            if isPod, let missing = Self.unspecified(object, hardKeys) {
                throw .forbidden(r.resource, object.name ?? "", group: r.group, "failed quota: \(quotaName): must specify \(missing)")
            }
            let charged = usage.filter { hardKeys.contains($0.key) }
            guard !charged.isEmpty else { continue }
            let charge = { (current: JSON) throws(APIError) -> JSON in
                let hard = Self.resourceList(current[path: ["status", "hard"]])
                var used = Self.resourceList(current[path: ["status", "used"]])
                let unknown = charged.keys.filter { hard[$0] == nil || used[$0] == nil }.sorted()
                if !unknown.isEmpty {
                    throw .forbidden(r.resource, object.name ?? "", group: r.group, "status unknown for quota: \(quotaName), resource: \(unknown.joined(separator: ","))")
                }
                let exceeded = charged.keys.filter { (used[$0] ?? .zero) + (charged[$0] ?? .zero) > (hard[$0] ?? .zero) }
                if !exceeded.isEmpty {
                    func only(_ list: [String: Quantity]) -> String { ResourceQuotas.describe(list.filter { exceeded.contains($0.key) }) }
                    throw .forbidden(r.resource, object.name ?? "", group: r.group,
                                     "exceeded quota: \(quotaName), requested: \(only(charged)), used: \(only(used)), limited: \(only(hard))")
                }
                for (k, q) in charged { used[k, default: .zero] += q }
                var next = current
                next[path: ["status", "used"]] = .object(JSONObject(used.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) }))
                return next
            }
            if dryRun {
                _ = try charge(quota)
            } else {
                _ = try await guaranteedUpdate(quotas, namespace, quotaName, req, validateUpdate: false, transform: charge)
            }
        }
    }

    /// A quota on requests or limits of cpu or memory needs every container to state
    /// them: "limits.cpu for: app; requests.memory for: app, sidecar", or nil.
    static func unspecified(_ pod: JSON, _ hard: Set<String>) -> String? {
        var missing: [String: [String]] = [:]
        let containers = (pod[path: ["spec", "containers"]]?.arrayValue ?? []) + (pod[path: ["spec", "initContainers"]]?.arrayValue ?? [])
        for (key, kind, name) in [("requests.cpu", "requests", "cpu"), ("cpu", "requests", "cpu"), ("requests.memory", "requests", "memory"),
                                  ("memory", "requests", "memory"), ("limits.cpu", "limits", "cpu"), ("limits.memory", "limits", "memory")]
        where hard.contains(key) {
            let field = "\(kind).\(name)"
            for c in containers where c[path: ["resources", kind, name]] == nil {
                let container = c["name"]?.stringValue ?? ""
                if !(missing[field]?.contains(container) ?? false) { missing[field, default: []].append(container) }
            }
        }
        guard !missing.isEmpty else { return nil }
        return missing.sorted { $0.key < $1.key }.map { "\($0.key) for: \($0.value.joined(separator: ", "))" }.joined(separator: "; ")
    }
}
