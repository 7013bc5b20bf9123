import SkiffAPI
import SkiffCore
import SkiffStore

/// status, scale, binding, eviction and the other subresources.
extension APIHandler {
    func getSubresource(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ sub: String, _ req: APIRequest) async throws(APIError) -> APIResponse {
        let object = try await currentObject(r, info, name, req)
        switch sub {
        case "status", "ephemeralcontainers":
            return .json(200, outgoing(r, object.bytes))
        case "exec", "attach", "portforward":
            throw .badRequest("Upgrade request required")
        case "scale":
            return .json(200, try scale(of: served(r, try parseStored(object.bytes)), r))
        case "log":
            return try await podLog(r, info, name, req)
        default:
            throw .methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    func createSubresource(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ sub: String, _ req: APIRequest) async throws(APIError) -> APIResponse {
        switch sub {
        case "binding":
            let binding = try BodyDecoding.decodeObject(req)
            return try await bind(info.namespace ?? "", name, binding, req)
        case "token":
            return try await createToken(r, info, name, req)
        case "eviction":
            return try await evict(r, info.namespace ?? "", name, req)
        case "exec", "attach", "portforward":
            throw .badRequest("Upgrade request required")
        default:
            throw .methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    /// pods/binding (and the bindings resource): assigns a pod to a node, once.
    func bind(_ namespace: String, _ podName: String, _ binding: JSON, _ req: APIRequest) async throws(APIError) -> APIResponse {
        guard let pods = registry.lookup(group: "", version: "v1", resource: "pods") else { throw .internalError("pods are not served") }
        guard let node = binding[path: ["target", "name"]]?.stringValue, !node.isEmpty else {
            throw .invalid(kind: "Binding", name: podName, causes: [.required("target.name")])
        }
        if let kind = binding[path: ["target", "kind"]]?.stringValue, !kind.isEmpty, kind != "Node" {
            throw .invalid(kind: "Binding", name: podName, causes: [.unsupported("target.kind", kind, ["Node"])])
        }
        // Binding sets spec.nodeName, which pod updates may never change: no update validation.
        _ = try await guaranteedUpdate(pods, namespace, podName, req, validateUpdate: false) { current throws(APIError) in
            if let existing = current[path: ["spec", "nodeName"]]?.stringValue, !existing.isEmpty {
                throw .conflict("pods", podName, "pod \(podName) is already assigned to node \"\(existing)\"")
            }
            if current.deletionTimestamp != nil {
                throw .conflict("pods", podName, "pod \(podName) is being deleted, cannot be assigned to a host")
            }
            var next = current
            next[path: ["spec", "nodeName"]] = .string(node)
            var conditions = (next[path: ["status", "conditions"]]?.arrayValue ?? []).filter { $0["type"]?.stringValue != "PodScheduled" }
            conditions.append(["type": "PodScheduled", "status": "True", "lastProbeTime": .null, "lastTransitionTime": .string(Timestamp.now().rfc3339)])
            next[path: ["status", "conditions"]] = .array(conditions)
            return next
        }
        let status: JSON = ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201]
        return .json(201, status)
    }

    /// An autoscaling/v1 Scale for a scalable object.
    func scale(of o: JSON, _ r: ResourceInfo) throws(APIError) -> JSON {
        guard let info = r.scale else { throw .notFound(r.resource, o.name ?? "") }
        let selector: String
        if info.selectorIsString {
            selector = o[path: info.selector]?.stringValue ?? ""
        } else if info.selectorIsMap {
            selector = Columns.mapString(o[path: info.selector]).replacingOccurrences(of: "<none>", with: "")
        } else {
            let s = Columns.selectorString(o[path: info.selector])
            selector = s == "<none>" ? "" : s
        }
        var meta = JSONObject()
        for key in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
            if let v = o["metadata"]?[key] { meta[key] = v }
        }
        var status: JSON = ["replicas": .number(JSONNumber(o[path: info.statusReplicas]?.int64Value ?? 0))]
        if !selector.isEmpty { status["selector"] = .string(selector) }
        return ["kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": .object(meta),
                "spec": ["replicas": .number(JSONNumber(o[path: info.specReplicas]?.int64Value ?? 0))], "status": status]
    }

    func updateScale(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ req: APIRequest, replace: JSON) async throws(APIError) -> APIResponse {
        if let kind = replace.kind, !kind.isEmpty, kind != "Scale" {
            throw .badRequest("the kind in the data (\(kind)) does not match the expected kind (Scale)")
        }
        return try await changeScale(r, info, name, req) { _ throws(APIError) in replace }
    }

    func patchScale(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ req: APIRequest, patchType: String, patch: JSON) async throws(APIError) -> APIResponse {
        let schema = self.schema
        return try await changeScale(r, info, name, req) { scale throws(APIError) in
            try Self.applyPatch(patchType, patch, to: scale, schemaType: "autoscaling/v1.Scale", schema: schema, fieldValidation: "Ignore")
        }
    }

    /// Applies a change to the object's Scale and writes the replicas back.
    func changeScale(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ req: APIRequest,
                     _ change: (JSON) throws(APIError) -> JSON) async throws(APIError) -> APIResponse {
        guard let scaleInfo = r.scale else { throw r.notFound(name) }
        let stored = try await guaranteedUpdate(r, info.namespace, name, req, tracking: .update(subresource: "scale")) { current throws(APIError) in
            let newScale = try change(try scale(of: current, r))
            if let rv = newScale.resourceVersion, !rv.isEmpty, rv != current.resourceVersion { throw r.conflict(name) }
            guard let replicas = newScale[path: ["spec", "replicas"]]?.int64Value else {
                throw .invalid(kind: "Scale", name: name, group: "autoscaling", causes: [.required("spec.replicas")])
            }
            if replicas < 0 {
                throw .invalid(kind: "Scale", name: name, group: "autoscaling",
                               causes: [.invalid("spec.replicas", String(replicas), "must be greater than or equal to 0")])
            }
            var next = current
            next[path: scaleInfo.specReplicas] = .number(JSONNumber(replicas))
            return next
        }
        return .json(200, try scale(of: try parseStored(stored), r))
    }
}
