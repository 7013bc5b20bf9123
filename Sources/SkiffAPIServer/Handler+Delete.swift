import SkiffAPI
import SkiffCore
import SkiffStore

/// DeleteOptions from the body (DELETE with a JSON body, as kubectl sends) or the query.
struct DeleteOptions {
    var gracePeriodSeconds: Int64?
    var propagationPolicy: String?
    var preconditionUID: String?
    var preconditionResourceVersion: String?

    /// Upstream's defaults: the kind's grace period, background propagation, no preconditions.
    init() {}

    init(_ req: APIRequest) throws(APIError) {
        if !req.body.isEmpty {
            let body = try BodyDecoding.decodeObject(req)
            if let kind = body.kind, !kind.isEmpty, kind != "DeleteOptions" {
                throw .badRequest("the kind in the data (\(kind)) does not match the expected kind (DeleteOptions)")
            }
            gracePeriodSeconds = body["gracePeriodSeconds"]?.int64Value
            propagationPolicy = body["propagationPolicy"]?.stringValue
            preconditionUID = body[path: ["preconditions", "uid"]]?.stringValue
            preconditionResourceVersion = body[path: ["preconditions", "resourceVersion"]]?.stringValue
            if body["orphanDependents"]?.boolValue == true, propagationPolicy == nil { propagationPolicy = "Orphan" }
        }
        if let g = req.queryValue("gracePeriodSeconds") {
            guard let v = Int64(g) else { throw .badRequest("invalid gracePeriodSeconds \"\(g)\"") }
            gracePeriodSeconds = v
        }
        if let p = req.queryValue("propagationPolicy") { propagationPolicy = p }
        if let p = propagationPolicy, !["Orphan", "Background", "Foreground"].contains(p) {
            throw .invalid(kind: "DeleteOptions", name: "", group: "meta.k8s.io",
                           causes: [.unsupported("propagationPolicy", p, ["Foreground", "Background", "Orphan", "nil"])])
        }
    }
}

/// delete and deletecollection, with graceful deletion and finalizers as upstream.
extension APIHandler {
    func delete(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ req: APIRequest) async throws(APIError) -> APIResponse {
        let options = try DeleteOptions(req)
        let bytes = try await deleteObject(r, info.namespace, name, options, dryRun: try isDryRun(req))
        return .json(200, bytes)
    }

    /// Deletes one object; returns what the client gets back (the object as last seen).
    func deleteObject(_ r: ResourceInfo, _ namespace: String?, _ name: String, _ options: DeleteOptions, dryRun: Bool) async throws(APIError) -> [UInt8] {
        let key = r.key(namespace: namespace, name: name)
        for _ in 0..<16 {
            guard let kv = await store.get(key: key) else { throw r.notFound(name) }
            let current = served(r, try parseStored(kv.value))
            if let uid = options.preconditionUID, uid != current.uid {
                throw .conflict(r.resource, name, group: r.group, "Precondition failed: UID in precondition: \(uid), UID in object meta: \(current.uid ?? "")")
            }
            if let rv = options.preconditionResourceVersion, rv != current.resourceVersion {
                throw .conflict(r.resource, name, group: r.group, "Precondition failed: ResourceVersion in precondition: \(rv), ResourceVersion in meta: \(current.resourceVersion ?? "")")
            }
            var next = current
            let now = Timestamp.now()
            var graceful = false
            var grace = options.gracePeriodSeconds
            // Pods on a node stop gracefully: the kubelet finishes the delete.
            if r.kind == "Pod", r.group.isEmpty, current[path: ["spec", "nodeName"]]?.stringValue != nil,
               ["Pending", "Running", "Unknown"].contains(current[path: ["status", "phase"]]?.stringValue ?? "Pending") {
                if grace == nil { grace = current[path: ["spec", "terminationGracePeriodSeconds"]]?.int64Value ?? 30 }
                if let g = grace, g > 0 {
                    let alreadyShorter = current.deletionGracePeriodSeconds.map { $0 <= g } ?? false
                    if !alreadyShorter {
                        next.deletionTimestamp = now.adding(seconds: g).rfc3339
                        next.deletionGracePeriodSeconds = g
                    }
                    graceful = true
                }
            }
            // Finalizers keep the object, marked for deletion, until they are removed.
            var finalizers = next.finalizers
            switch options.propagationPolicy {
            case "Foreground" where !finalizers.contains("foregroundDeletion"): finalizers.append("foregroundDeletion")
            case "Orphan" where !finalizers.contains("orphan"): finalizers.append("orphan")
            default: break
            }
            let namespaceFinalizers = Self.pendingSpecFinalizers(current)
            if !finalizers.isEmpty || !namespaceFinalizers.isEmpty {
                next.finalizers = finalizers
                // Not graceful (or the kubelet ending a graceful deletion with grace 0):
                // only the finalizers hold it now.
                if next.deletionTimestamp == nil || (!graceful && (next.deletionGracePeriodSeconds ?? 0) > 0) {
                    next.deletionTimestamp = now.rfc3339
                    next.deletionGracePeriodSeconds = 0
                }
                if r.kind == "Namespace", r.group.isEmpty { next[path: ["status", "phase"]] = "Terminating" }
                graceful = true
            }
            if graceful {
                if Self.sameIgnoringVersion(next, current) { return outgoing(r, kv.value) }
                if dryRun { return next.serialized() }
                let final = storable(r, next)
                do {
                    return outgoing(r, try await store.update(key: key, expectedRevision: kv.modRevision) { rev in
                        var o = final
                        o.resourceVersion = String(rev)
                        return o.serialized()
                    }.value)
                } catch .conflict {
                    continue
                } catch {
                    throw error.apiError(r, name: name)
                }
            }
            if dryRun { return outgoing(r, kv.value) }
            if r.kind == "CustomResourceDefinition" { try await deleteCustomResources(of: current) }
            do {
                _ = try await store.delete(key: key, expectedRevision: kv.modRevision)
                await consistentRead()
                return outgoing(r, kv.value)
            } catch .conflict {
                continue
            } catch {
                throw error.apiError(r, name: name)
            }
        }
        throw r.conflict(name)
    }

    /// Deleting a CRD deletes every object it served, as apiextensions-apiserver does.
    func deleteCustomResources(of crd: JSON) async throws(APIError) {
        guard let group = crd[path: ["spec", "group"]]?.stringValue, let plural = crd[path: ["spec", "names", "plural"]]?.stringValue else { return }
        let prefix = "/registry/\(group)/\(plural)/"
        let items: [KeyValue]
        do {
            items = try await store.list(prefix: prefix, atRevision: nil).items
            for kv in items {
                do { _ = try await store.delete(key: kv.key, expectedRevision: nil) } catch .keyNotFound { continue }
            }
        } catch {
            throw .internalError("removing the custom resources of \(plural).\(group): \(error)")
        }
    }

    func deleteCollection(_ r: ResourceInfo, _ info: RequestInfo, _ req: APIRequest) async throws(APIError) -> APIResponse {
        let filter = try self.filter(r, info, req)
        let options = try DeleteOptions(req)
        let dryRun = try isDryRun(req)
        await consistentRead()
        let (items, _) = await cache.list(r, filter: filter)
        var deleted: [[UInt8]] = []
        for item in items {
            do {
                deleted.append(try await deleteObject(r, item.namespace.isEmpty ? nil : item.namespace, item.name, options, dryRun: dryRun))
            } catch where error.code == 404 {
                continue
            }
        }
        return listResponse(r, deleted, metadata: ["resourceVersion": .string(String(await store.currentRevision()))])
    }
}
