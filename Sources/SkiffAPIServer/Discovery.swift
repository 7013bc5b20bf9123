import SkiffAPI
import SkiffCore

/// API discovery: the legacy documents (APIVersions, APIGroupList, APIResourceList) and
/// aggregated discovery (apidiscovery.k8s.io v2 and v2beta1), chosen by the Accept
/// header; kubectl recognises the aggregated form by its Content-Type alone.
extension APIHandler {
    func discovery(_ info: RequestInfo, _ req: APIRequest, root: String) throws(APIError) -> APIResponse {
        let accept = req.header("accept") ?? ""
        switch info.target {
        case .discoveryRoot:
            let aggregated: String? = accept.contains("v=v2;as=APIGroupDiscoveryList") ? "v2"
                : accept.contains("v=v2beta1;as=APIGroupDiscoveryList") ? "v2beta1" : nil
            if let version = aggregated {
                let contentType = "application/json;g=apidiscovery.k8s.io;v=\(version);as=APIGroupDiscoveryList"
                return APIResponse(status: 200, contentType: contentType,
                                   body: .bytes(aggregatedDiscovery(legacy: root == "api", version: version).serialized()))
            }
            return .json(200, root == "api" ? apiVersions() : groupList())
        case .discoveryGroup(let group):
            guard let g = groupEntry(group) else { throw .notFound("groups", group) }
            var doc = g
            doc["kind"] = "APIGroup"
            doc["apiVersion"] = "v1"
            return .json(200, doc)
        case .discoveryVersion(let group, let version):
            let resources = registry.all.filter { $0.group == group && $0.version == version }
            if resources.isEmpty { throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource") }
            return .json(200, resourceList(group: group, version: version, resources))
        case .resource:
            throw .notFound("discovery", req.path)
        }
    }

    func apiVersions() -> JSON {
        ["kind": "APIVersions", "versions": ["v1"],
         "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": ""]]]
    }

    /// Groups in registration order, each with its versions, preferred first.
    func groups() -> [(name: String, versions: [String])] {
        var order: [String] = []
        var versions: [String: [String]] = [:]
        for r in registry.all where !r.group.isEmpty {
            if versions[r.group] == nil { order.append(r.group) }
            if !(versions[r.group]?.contains(r.version) ?? false) { versions[r.group, default: []].append(r.version) }
        }
        return order.map { g in
            let preferred = registry.preferredVersion(of: g) ?? versions[g]?.first ?? "v1"
            let vs = versions[g] ?? []
            return (g, [preferred] + vs.filter { $0 != preferred })
        }
    }

    func groupEntry(_ name: String) -> JSON? {
        guard let g = groups().first(where: { $0.name == name }) else { return nil }
        let versions: [JSON] = g.versions.map { ["groupVersion": .string("\(name)/\($0)"), "version": .string($0)] }
        return ["name": .string(name), "versions": .array(versions), "preferredVersion": versions[0]]
    }

    func groupList() -> JSON {
        ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups().compactMap { groupEntry($0.name) })]
    }

    func resourceList(group: String, version: String, _ resources: [ResourceInfo]) -> JSON {
        var items: [JSON] = []
        for r in resources {
            var entry: JSON = ["name": .string(r.resource), "singularName": .string(r.singular), "namespaced": .bool(r.namespaced),
                               "kind": .string(r.kind), "verbs": .array(r.verbs.map { .string($0) })]
            if !r.shortNames.isEmpty { entry["shortNames"] = .array(r.shortNames.map { .string($0) }) }
            if !r.categories.isEmpty { entry["categories"] = .array(r.categories.map { .string($0) }) }
            items.append(entry)
            for s in r.subresources {
                var sub: JSON = ["name": .string("\(r.resource)/\(s.name)"), "singularName": "", "namespaced": .bool(r.namespaced),
                                 "kind": .string(s.kind), "verbs": .array(s.verbs.map { .string($0) })]
                if s.group != r.group || s.version != r.version {
                    sub["group"] = .string(s.group)
                    sub["version"] = .string(s.version)
                }
                items.append(sub)
            }
        }
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"),
                "resources": .array(items)]
    }

    func aggregatedDiscovery(legacy: Bool, version: String) -> JSON {
        var entries: [JSON] = []
        let groupNames: [(String, [String])] = legacy ? [("", ["v1"])] : groups()
        for (group, versions) in groupNames {
            let versionEntries: [JSON] = versions.map { v in
                let resources: [JSON] = registry.all.filter { $0.group == group && $0.version == v }.map { r in
                    var e: JSON = ["resource": .string(r.resource),
                                   "responseKind": ["group": .string(r.group), "version": .string(r.version), "kind": .string(r.kind)],
                                   "scope": r.namespaced ? "Namespaced" : "Cluster", "singularResource": .string(r.singular),
                                   "verbs": .array(r.verbs.map { .string($0) })]
                    if !r.shortNames.isEmpty { e["shortNames"] = .array(r.shortNames.map { .string($0) }) }
                    if !r.categories.isEmpty { e["categories"] = .array(r.categories.map { .string($0) }) }
                    if !r.subresources.isEmpty {
                        e["subresources"] = .array(r.subresources.map { s in
                            ["subresource": .string(s.name),
                             "responseKind": ["group": .string(s.group), "version": .string(s.version), "kind": .string(s.kind)],
                             "verbs": .array(s.verbs.map { .string($0) })]
                        })
                    }
                    return e
                }
                return ["version": .string(v), "resources": .array(resources), "freshness": "Current"]
            }
            entries.append(["metadata": ["name": .string(group)], "versions": .array(versionEntries)])
        }
        return ["kind": "APIGroupDiscoveryList", "apiVersion": .string("apidiscovery.k8s.io/\(version)"), "metadata": [:],
                "items": .array(entries)]
    }
}
