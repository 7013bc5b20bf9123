import SkiffCore

/// The paths and operations of the OpenAPI documents. kubectl's field-validation check
/// looks for a PATCH operation tagged with the kind's `x-kubernetes-group-version-kind`
/// that takes a `fieldValidation` query parameter; client-side apply reads the PATCH
/// operation's content types to choose strategic merge patch.
extension OpenAPIBuilder {
    /// What an operation carries in its request body.
    enum Body {
        case object(String)
        case patch
        case deleteOptions
    }

    struct Operation {
        var method: String
        var action: String
        var operationID: String
        var gvk: GroupVersionKind
        var body: Body?
        /// The schema type of the 200 response.
        var response: String
        var query: [QueryParameter]
    }

    struct QueryParameter {
        var name: String
        var type: String
        var description: String
    }

    static let patchContentTypes = [
        "application/apply-patch+yaml", "application/json-patch+json",
        "application/merge-patch+json", "application/strategic-merge-patch+json",
    ]

    /// Every path of one resource with its operations, in a stable order.
    func pathItems(_ r: OpenAPIResource) -> [(String, JSON)] {
        let base = "/" + r.groupVersionPath
        let collection = r.namespaced ? "\(base)/namespaces/{namespace}/\(r.resource)" : "\(base)/\(r.resource)"
        let item = collection + "/{name}"
        let gvk = GroupVersionKind(group: r.group, version: r.version, kind: r.kind)
        let names = OperationNames(resource: r)
        var out: [(String, JSON)] = []
        func add(_ path: String, _ ops: [Operation], named: Bool) {
            if !ops.isEmpty { out.append((path, pathItem(ops, namespaced: r.namespaced, named: named))) }
        }
        add(collection, collectionOperations(r, gvk, names), named: false)
        add(item, itemOperations(r, gvk, names), named: true)
        if r.namespaced, r.verbs.contains("list") {
            let list = Operation(method: "get", action: "list", operationID: names.id("list", suffix: "ForAllNamespaces", namespaced: false),
                                 gvk: gvk, body: nil, response: r.schemaType + "List", query: Self.listParameters)
            out.append(("\(base)/\(r.resource)", pathItem([list], namespaced: false, named: false)))
        }
        for sub in r.subresources {
            add("\(item)/\(sub.name)", subresourceOperations(sub, of: r, names), named: true)
        }
        return out
    }

    private func collectionOperations(_ r: OpenAPIResource, _ gvk: GroupVersionKind, _ names: OperationNames) -> [Operation] {
        var ops: [Operation] = []
        if r.verbs.contains("list") {
            ops.append(Operation(method: "get", action: "list", operationID: names.id("list"), gvk: gvk, body: nil,
                                 response: r.schemaType + "List", query: Self.listParameters))
        }
        if r.verbs.contains("create") {
            ops.append(Operation(method: "post", action: "post", operationID: names.id("create"), gvk: gvk,
                                 body: .object(r.schemaType), response: r.schemaType, query: Self.writeParameters))
        }
        if r.verbs.contains("deletecollection") {
            ops.append(Operation(method: "delete", action: "deletecollection", operationID: names.id("deleteCollection"), gvk: gvk,
                                 body: .deleteOptions, response: Self.statusType, query: Self.listParameters + Self.deleteParameters))
        }
        return ops
    }

    private func itemOperations(_ r: OpenAPIResource, _ gvk: GroupVersionKind, _ names: OperationNames) -> [Operation] {
        var ops: [Operation] = []
        if r.verbs.contains("get") {
            ops.append(Operation(method: "get", action: "get", operationID: names.id("read"), gvk: gvk, body: nil,
                                 response: r.schemaType, query: []))
        }
        if r.verbs.contains("update") {
            ops.append(Operation(method: "put", action: "put", operationID: names.id("replace"), gvk: gvk,
                                 body: .object(r.schemaType), response: r.schemaType, query: Self.writeParameters))
        }
        if r.verbs.contains("patch") {
            ops.append(Operation(method: "patch", action: "patch", operationID: names.id("patch"), gvk: gvk, body: .patch,
                                 response: r.schemaType, query: Self.patchParameters))
        }
        if r.verbs.contains("delete") {
            ops.append(Operation(method: "delete", action: "delete", operationID: names.id("delete"), gvk: gvk,
                                 body: .deleteOptions, response: Self.statusType, query: Self.deleteParameters))
        }
        return ops
    }

    /// status and scale get read/replace/patch; kinds posted to a subresource (binding,
    /// eviction, token) get create. Streaming subresources (log, exec...) have no schema.
    private func subresourceOperations(_ sub: OpenAPISubresource, of r: OpenAPIResource, _ names: OperationNames) -> [Operation] {
        let type = Self.subresourceType(sub, of: r)
        guard schema[type: type] != nil, !Self.streamingSubresources.contains(sub.name) else { return [] }
        let gvk = GroupVersionKind(group: sub.group, version: sub.version, kind: sub.kind)
        let suffix = sub.name.prefix(1).uppercased() + sub.name.dropFirst()
        var ops: [Operation] = []
        for verb in sub.verbs {
            switch verb {
            case "get":
                ops.append(Operation(method: "get", action: "get", operationID: names.id("read", suffix: suffix), gvk: gvk,
                                     body: nil, response: type, query: []))
            case "update":
                ops.append(Operation(method: "put", action: "put", operationID: names.id("replace", suffix: suffix), gvk: gvk,
                                     body: .object(type), response: type, query: Self.writeParameters))
            case "patch":
                ops.append(Operation(method: "patch", action: "patch", operationID: names.id("patch", suffix: suffix), gvk: gvk,
                                     body: .patch, response: type, query: Self.patchParameters))
            case "create":
                ops.append(Operation(method: "post", action: "post", operationID: names.id("create", suffix: suffix), gvk: gvk,
                                     body: .object(type), response: type, query: Self.writeParameters))
            default: continue
            }
        }
        return ops
    }

    static let streamingSubresources: Set<String> = ["log", "exec", "attach", "portforward", "proxy"]

    static let writeParameters = [
        QueryParameter(name: "dryRun", type: "string", description: "When present (All), the request is processed but not persisted."),
        QueryParameter(name: "fieldManager", type: "string", description: "The name of the actor making the change, recorded in managed fields."),
        QueryParameter(name: "fieldValidation", type: "string", description: "How unknown or duplicate fields are treated: Ignore, Warn or Strict."),
    ]

    static let patchParameters = writeParameters + [
        QueryParameter(name: "force", type: "boolean", description: "Apply patches only: take over fields owned by other managers."),
    ]

    static let deleteParameters = [
        QueryParameter(name: "dryRun", type: "string", description: "When present (All), the request is processed but not persisted."),
        QueryParameter(name: "gracePeriodSeconds", type: "integer", description: "Seconds before the object is deleted."),
        QueryParameter(name: "propagationPolicy", type: "string", description: "Orphan, Background or Foreground deletion of dependents."),
    ]

    static let listParameters = [
        QueryParameter(name: "labelSelector", type: "string", description: "Only objects whose labels match."),
        QueryParameter(name: "fieldSelector", type: "string", description: "Only objects whose fields match."),
        QueryParameter(name: "limit", type: "integer", description: "The most objects to return in one response."),
        QueryParameter(name: "continue", type: "string", description: "The continue token of the previous page."),
        QueryParameter(name: "resourceVersion", type: "string", description: "The resource version to list or watch from."),
        QueryParameter(name: "resourceVersionMatch", type: "string", description: "How resourceVersion applies: Exact or NotOlderThan."),
        QueryParameter(name: "timeoutSeconds", type: "integer", description: "Ends a list or watch after this many seconds."),
        QueryParameter(name: "watch", type: "boolean", description: "Stream changes instead of returning a list."),
        QueryParameter(name: "allowWatchBookmarks", type: "boolean", description: "Watch only: send BOOKMARK events."),
    ]
}

// MARK: - Spelling operations in each dialect

extension OpenAPIBuilder {
    func pathItem(_ ops: [Operation], namespaced: Bool, named: Bool) -> JSON {
        var item = JSONObject()
        for op in ops { item[op.method] = operation(op) }
        var parameters: [JSON] = []
        if named { parameters.append(pathParameter("name")) }
        if namespaced { parameters.append(pathParameter("namespace")) }
        parameters.append(queryParameter(QueryParameter(name: "pretty", type: "string", description: "If 'true', the output is indented.")))
        item["parameters"] = .array(parameters)
        return .object(item)
    }

    func operation(_ op: Operation) -> JSON {
        var out = JSONObject()
        out["operationId"] = .string(op.operationID)
        var parameters = op.query.map(queryParameter)
        switch (dialect, op.body) {
        case (_, nil): break
        case (.v2, .some(let body)):
            parameters.insert(bodyParameter(body), at: 0)
            out["consumes"] = .array(consumes(body).map { .string($0) })
            out["produces"] = ["application/json"]
        case (.v3, .some(let body)):
            out["requestBody"] = requestBody(body)
        }
        if dialect == .v2, op.body == nil { out["produces"] = ["application/json"] }
        if !parameters.isEmpty { out["parameters"] = .array(parameters) }
        out["responses"] = responses(op)
        out["x-kubernetes-action"] = .string(op.action)
        out["x-kubernetes-group-version-kind"] = op.gvk.json
        return .object(out)
    }

    private func bodySchema(_ body: Body) -> JSON {
        switch body {
        case .object(let type): ref(type: type)
        case .patch: ref(definition: Builtin.patch.rawValue)
        case .deleteOptions: ref(type: Self.deleteOptionsType)
        }
    }

    private func consumes(_ body: Body) -> [String] {
        if case .patch = body { return Self.patchContentTypes }
        return ["*/*"]
    }

    private func bodyParameter(_ body: Body) -> JSON {
        var p: JSON = ["name": "body", "in": "body", "schema": bodySchema(body)]
        if case .deleteOptions = body {} else { p["required"] = true }
        return p
    }

    private func requestBody(_ body: Body) -> JSON {
        var content = JSONObject()
        for type in consumes(body) { content[type] = ["schema": bodySchema(body)] }
        var out: JSON = ["content": .object(content)]
        if case .deleteOptions = body {} else { out["required"] = true }
        return out
    }

    private func responses(_ op: Operation) -> JSON {
        let schema = ref(type: op.response)
        var ok: JSON = ["description": "OK"]
        switch dialect {
        case .v2: ok["schema"] = schema
        case .v3: ok["content"] = ["application/json": ["schema": schema]]
        }
        var out: JSON = ["200": ok]
        if op.method == "post" {
            var created = ok
            created["description"] = "Created"
            out["201"] = created
        }
        return out
    }

    func queryParameter(_ p: QueryParameter) -> JSON {
        var out: JSON = ["name": .string(p.name), "in": "query", "description": .string(p.description)]
        switch dialect {
        case .v2: out["type"] = .string(p.type); out["uniqueItems"] = true
        case .v3: out["schema"] = ["type": .string(p.type), "uniqueItems": true]
        }
        return out
    }

    func pathParameter(_ name: String) -> JSON {
        let description = name == "name" ? "The name of the object." : "The namespace of the object."
        var out: JSON = ["name": .string(name), "in": "path", "description": .string(description), "required": true]
        switch dialect {
        case .v2: out["type"] = "string"; out["uniqueItems"] = true
        case .v3: out["schema"] = ["type": "string", "uniqueItems": true]
        }
        return out
    }
}

/// Operation ids as Kubernetes forms them: verb, group-version, scope, kind, suffix
/// ("patchAppsV1NamespacedDeploymentScale"). Client generators key on them.
struct OperationNames {
    var groupVersion: String
    var kind: String
    var namespaced: Bool

    init(resource r: OpenAPIResource) {
        let group = r.group.isEmpty ? "core" : String(r.group.hasSuffix(".k8s.io") ? r.group.dropLast(7) : Substring(r.group))
        groupVersion = group.split(separator: ".").map(Self.capitalized).joined() + Self.capitalized(Substring(r.version))
        kind = r.kind
        namespaced = r.namespaced
    }

    func id(_ verb: String, suffix: String = "", namespaced: Bool? = nil) -> String {
        let scope = (namespaced ?? self.namespaced) ? "Namespaced" : ""
        if verb == "deleteCollection" { return "delete\(groupVersion)Collection\(scope)\(kind)\(suffix)" }
        return "\(verb)\(groupVersion)\(scope)\(kind)\(suffix)"
    }

    static func capitalized(_ s: Substring) -> String { s.prefix(1).uppercased() + s.dropFirst() }
}
