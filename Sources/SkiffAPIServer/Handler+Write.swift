import Foundation
import SkiffAPI
import SkiffCore
import SkiffStore

/// Whether a write records field ownership (apply records its own).
enum FieldTracking {
    case none
    case update(subresource: String?)
}

/// create, update and patch: decode, default, validate, admit, store.
extension APIHandler {
    func create(_ r: ResourceInfo, _ info: RequestInfo, _ req: APIRequest) async throws(APIError) -> APIResponse {
        var object = try BodyDecoding.decodeObject(req)
        var warnings = try checkTypeMeta(&object, r)
        warnings += try checkSchema(object, r, req)
        let (stored, _) = try await createObject(r, info.namespace, object, req)
        return .json(201, stored, headers: warningHeaders(warnings))
    }

    /// Creates `object` (already decoded and type-checked) and returns the stored bytes.
    func createObject(_ r: ResourceInfo, _ namespace: String?, _ input: JSON, _ req: APIRequest,
                      tracked: Bool = false) async throws(APIError) -> ([UInt8], Bool) {
        var object = input
        if r.namespaced {
            let ns = namespace ?? ""
            if let own = object.namespace, !own.isEmpty, own != ns {
                throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            object.namespace = ns
        } else if let own = object.namespace, !own.isEmpty {
            object.namespace = nil
        }
        if (object.name ?? "").isEmpty {
            guard let prefix = object.generateName, !prefix.isEmpty else {
                throw r.invalid("", [.required("metadata.name").with(message: "Required value: name or generateName is required")])
            }
            object.name = Self.generatedName(prefix)
        }
        let name = object.name ?? ""
        if let rv = object.resourceVersion, !rv.isEmpty {
            throw .badRequest("resourceVersion should not be set on objects to be created")
        }
        if r.namespaced { try await admitNamespace(namespace ?? "") }

        let now = Timestamp.now()
        object.uid = UUID().uuidString.lowercased()
        object.creationTimestamp = now.rfc3339
        object.deletionTimestamp = nil
        object.deletionGracePeriodSeconds = nil
        object[path: ["metadata", "selfLink"]] = nil
        if r.strategy.tracksGeneration { object.generation = 1 } else { object.generation = nil }
        if let manager = req.queryValue("fieldManager") { try Self.validateFieldManager(manager) }
        r.strategy.prune(&object)
        if let type = r.schemaType { object = Canonicalization.quantities(object, type: type, schema: schema) }
        r.strategy.applyDefaults(&object)
        // The creator owns what it sent and the defaults; not what the server fills in below.
        if !tracked {
            object = ServerSideApply.update(object, from: nil, manager: Self.manager(req), subresource: nil, type: r.schemaType,
                                            schema: schema, now: now.rfc3339, statusSubresource: r.hasStatus)
        }
        r.strategy.prepareForCreate(&object)
        r.strategy.afterDefaults(&object)
        try await admitCreate(r, &object)
        if r.kind == "Service", r.group.isEmpty { try await allocateServiceIP(&object) }
        try validate(r, object, old: nil)
        try await chargeQuota(r, namespace ?? "", object, req, dryRun: try isDryRun(req))

        if try isDryRun(req) { return (object.serialized(), true) }
        let key = r.key(namespace: namespace, name: name)
        let final = storable(r, object)
        let prepared = cache.prepared
        do {
            let kv = try await store.create(key: key) { rev in
                var o = final
                o.resourceVersion = String(rev)
                prepared.put(revision: rev, key: key, object: o)
                return o.serialized()
            }
            // A new CRD serves its resources as soon as its create returns.
            if r.kind == "CustomResourceDefinition" { await cache.wait(for: kv.modRevision) }
            return (outgoing(r, kv.value), false)
        } catch {
            throw error.apiError(r, name: name)
        }
    }

    func update(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ sub: String?, _ req: APIRequest) async throws(APIError) -> APIResponse {
        var body = try BodyDecoding.decodeObject(req)
        if sub == "scale" { return try await updateScale(r, info, name, req, replace: body) }
        let expectedKind = sub.flatMap { s in r.subresources.first { $0.name == s } }.map { ($0.kind, $0.group, $0.version) }
        var warnings: [String] = []
        if let (kind, _, _) = expectedKind, kind != r.kind {
            throw .methodNotAllowed("the server does not allow this method on the requested resource")
        }
        warnings += try checkTypeMeta(&body, r)
        warnings += try checkSchema(body, r, req)
        if let own = body.name, own != name {
            throw .badRequest("the name of the object (\(own)) does not match the name on the URL (\(name))")
        }
        if r.namespaced, let own = body.namespace, !own.isEmpty, own != info.namespace {
            throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        let preconditionRV = body.resourceVersion.flatMap { $0.isEmpty ? nil : $0 }
        let stored = try await guaranteedUpdate(r, info.namespace, name, req, tracking: .update(subresource: sub)) { current throws(APIError) in
            if let preconditionRV, preconditionRV != current.resourceVersion { throw r.conflict(name) }
            return Self.merge(incoming: body, into: current, resource: r, subresource: sub)
        }
        return .json(200, stored, headers: warningHeaders(warnings))
    }

    /// The object an update stores: the client's object where the client may write
    /// (main resource: all but status; status: only status), system metadata kept.
    static func merge(incoming: JSON, into current: JSON, resource r: ResourceInfo, subresource: String?) -> JSON {
        var next: JSON
        switch subresource {
        case "status":
            next = current
            next["status"] = incoming["status"]
        case "finalize":
            next = current
            next[path: ["spec", "finalizers"]] = incoming[path: ["spec", "finalizers"]]
        case "ephemeralcontainers":
            next = current
            next[path: ["spec", "ephemeralContainers"]] = incoming[path: ["spec", "ephemeralContainers"]]
        default:
            next = incoming
            if r.hasStatus { next["status"] = current["status"] }
            // A pod's ephemeral containers change only through their subresource.
            if r.group.isEmpty && r.resource == "pods" {
                next[path: ["spec", "ephemeralContainers"]] = current[path: ["spec", "ephemeralContainers"]]
            }
        }
        return next
    }

    func patch(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ sub: String?, _ req: APIRequest) async throws(APIError) -> APIResponse {
        if req.body.count > BodyDecoding.maxBodyBytes { throw .tooLarge() }
        let patchType = BodyDecoding.mediaType(req.header("content-type"))
        let supported = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml", "application/apply-patch+cbor"]
        guard supported.contains(patchType), patchType != "application/apply-patch+cbor" else {
            throw APIError(code: 415, reason: "UnsupportedMediaType",
                           message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json")
        }
        if patchType == "application/strategic-merge-patch+json", r.schemaType == nil {
            throw APIError(code: 415, reason: "UnsupportedMediaType",
                           message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
        }
        let patchDoc: JSON = patchType == "application/apply-patch+yaml"
            ? try BodyDecoding.parseYAML(req.body)
            : try BodyDecoding.parseJSON(req.body)
        if patchType == "application/apply-patch+yaml" {
            guard let manager = req.queryValue("fieldManager"), !manager.isEmpty else {
                throw APIError(code: 400, reason: "BadRequest", message: "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
            }
            try Self.validateFieldManager(manager)
        }
        if sub == "scale" { return try await patchScale(r, info, name, req, patchType: patchType, patch: patchDoc) }

        var warnings: [String] = []
        let fieldValidation = req.queryValue("fieldValidation") ?? "Warn"
        if patchType == "application/merge-patch+json" || patchType == "application/strategic-merge-patch+json" {
            try MergePatch.validate(patchDoc, fieldValidation: fieldValidation)
        }
        let schemaType = r.schemaType
        let schema = self.schema
        let isApply = patchType == "application/apply-patch+yaml"
        let manager = Self.manager(req)
        let force = req.queryValue("force") == "true"
        let now = Timestamp.now().rfc3339
        do {
            let stored = try await guaranteedUpdate(r, info.namespace, name, req, tracking: isApply ? .none : .update(subresource: sub)) { current throws(APIError) in
                var patched = isApply
                    ? try ServerSideApply.apply(patchDoc, to: current, manager: manager, force: force, type: schemaType, schema: schema,
                                                now: now, subresource: sub, statusSubresource: r.hasStatus)
                    : try Self.applyPatch(patchType, patchDoc, to: current, schemaType: schemaType, schema: schema, fieldValidation: fieldValidation)
                if patched.kind == nil { patched.kind = r.kind }
                if patched.apiVersion == nil { patched.apiVersion = r.apiVersion }
                if patched.name != name || (r.namespaced && patched.namespace != info.namespace) {
                    throw APIError.badRequest("metadata.name and metadata.namespace cannot be changed by a patch")
                }
                return Self.merge(incoming: patched, into: current, resource: r, subresource: sub)
            } check: { patched throws(APIError) in
                warnings = try self.checkSchema(patched, r, req)
            }
            return .json(200, stored, headers: warningHeaders(warnings))
        } catch let e where e.code == 404 && isApply && sub == nil {
            // Server-side apply creates what does not exist yet.
            try ServerSideApply.checkAppliedType(patchDoc, apiVersion: r.apiVersion, kind: r.kind)
            warnings = try checkSchema(patchDoc, r, req)
            var object = try ServerSideApply.apply(patchDoc, to: nil, manager: manager, force: force, type: schemaType, schema: schema,
                                                   now: now, statusSubresource: r.hasStatus)
            if object.name == nil { object.name = name }
            let (stored, _) = try await createObject(r, info.namespace, object, req, tracked: true)
            return .json(201, stored, headers: warningHeaders(warnings))
        }
    }

    static func applyPatch(_ type: String, _ patch: JSON, to current: JSON, schemaType: String?, schema: APISchema, fieldValidation: String) throws(APIError) -> JSON {
        switch type {
        case "application/json-patch+json":
            return try JSONPatch.apply(patch, to: current, fieldValidation: fieldValidation)
        case "application/merge-patch+json":
            return MergePatch.apply(patch, to: current)
        case "application/strategic-merge-patch+json":
            guard let schemaType else { return MergePatch.apply(patch, to: current) }
            return try StrategicMergePatch.apply(patch, to: current, type: schemaType, schema: schema)
        default:
            // Server-side apply, without field ownership yet: the applied configuration is
            // merged into the live object by the kind's merge keys.
            guard let schemaType else { return MergePatch.apply(patch, to: current) }
            return try StrategicMergePatch.apply(patch, to: current, type: schemaType, schema: schema)
        }
    }

    /// Reads the object, computes its next state with `transform`, and writes it with a
    /// compare-and-swap on the revision it read; retries when another writer won, unless
    /// the client asked for a specific resourceVersion (then 409, as upstream).
    func guaranteedUpdate(
        _ r: ResourceInfo, _ namespace: String?, _ name: String, _ req: APIRequest,
        validateUpdate: Bool = true, tracking: FieldTracking = .none,
        transform: (JSON) throws(APIError) -> JSON,
        check: (JSON) throws(APIError) -> Void = { _ throws(APIError) in }
    ) async throws(APIError) -> [UInt8] {
        let key = r.key(namespace: namespace, name: name)
        let dryRun = try isDryRun(req)
        for _ in 0..<16 {
            guard let kv = await store.get(key: key) else { throw r.notFound(name) }
            let current = served(r, try parseStored(kv.value))
            var next = try transform(current)
            try check(next)
            next = try prepareUpdate(r, next, current: current)
            if r.kind == "Service", r.group.isEmpty, next["spec"] != current["spec"] {
                try await allocateServiceIP(&next, old: current)
            }
            if case .update(let subresource) = tracking {
                next = ServerSideApply.update(next, from: current, manager: Self.manager(req), subresource: subresource, type: r.schemaType,
                                              schema: schema, now: Timestamp.now().rfc3339, statusSubresource: r.hasStatus)
            }
            next = ServerSideApply.keepingTimestamps(next, old: current)
            // An unchanged object is not written: no new resourceVersion, no watch event.
            if Self.sameIgnoringVersion(next, current) { return outgoing(r, kv.value) }
            if validateUpdate {
                try validate(r, next, old: current)
                try await admitUpdate(r, next, old: current)
            }
            if dryRun { return next.serialized() }
            // The last finalizer gone from an object being deleted: it goes now — unless a
            // graceful deletion is still running (a pod whose kubelet has not finished it),
            // as upstream's registry decides.
            if next.deletionTimestamp != nil, next.finalizers.isEmpty, Self.pendingSpecFinalizers(next).isEmpty,
               (next.deletionGracePeriodSeconds ?? 0) == 0 {
                do {
                    let deleted = try await store.delete(key: key, expectedRevision: kv.modRevision)
                    var gone = next
                    gone.resourceVersion = String(deleted.modRevision)
                    return gone.serialized()
                } catch .conflict {
                    continue
                } catch {
                    throw error.apiError(r, name: name)
                }
            }
            let final = storable(r, next)
            let prepared = cache.prepared
            do {
                let written = try await store.update(key: key, expectedRevision: kv.modRevision) { rev in
                    var o = final
                    o.resourceVersion = String(rev)
                    prepared.put(revision: rev, key: key, object: o)
                    return o.serialized()
                }
                if r.kind == "CustomResourceDefinition" { await cache.wait(for: written.modRevision) }
                return outgoing(r, written.value)
            } catch .conflict {
                continue
            } catch {
                throw error.apiError(r, name: name)
            }
        }
        throw r.conflict(name)
    }

    /// Namespaces wait for their spec.finalizers (the namespace controller's) too.
    static func pendingSpecFinalizers(_ o: JSON) -> [JSON] {
        o.kind == "Namespace" ? (o[path: ["spec", "finalizers"]]?.arrayValue ?? []) : []
    }

    /// System metadata the client cannot change; generation bumped on spec changes.
    func prepareUpdate(_ r: ResourceInfo, _ input: JSON, current: JSON) throws(APIError) -> JSON {
        var next = input
        next.kind = r.kind
        next.apiVersion = r.apiVersion
        if r.namespaced { next.namespace = current.namespace } else { next.namespace = nil }
        // A uid in the update is a precondition (the garbage collector's patches rely on it).
        if let uid = input.uid, !uid.isEmpty, uid != current.uid {
            let name = current.name ?? ""
            throw .conflict(r.resource, name, group: r.group,
                            "StorageError: invalid object, Code: 4, Key: \(r.key(namespace: current.namespace, name: name)), ResourceVersion: 0, "
                                + "AdditionalErrorMsg: Precondition failed: UID in precondition: \(uid), UID in object meta: \(current.uid ?? "")")
        }
        next.uid = current.uid
        next.creationTimestamp = current.creationTimestamp
        next.deletionTimestamp = current.deletionTimestamp
        next.deletionGracePeriodSeconds = current.deletionGracePeriodSeconds
        next[path: ["metadata", "selfLink"]] = nil
        next.resourceVersion = current.resourceVersion
        if current.deletionTimestamp != nil {
            let added = Set(next.finalizers).subtracting(current.finalizers)
            if !added.isEmpty {
                throw r.invalid(current.name ?? "", [.forbidden("metadata.finalizers", "no new finalizers can be added if the object is being deleted, found new finalizers \(added.sorted())")])
            }
        }
        r.strategy.prune(&next)
        if let type = r.schemaType { next = Canonicalization.quantities(next, type: type, schema: schema) }
        r.strategy.applyDefaults(&next)
        r.strategy.afterDefaults(&next)
        if r.strategy.tracksGeneration {
            var a = next, b = current
            for key in ["metadata", "status"] {
                a[key] = nil
                b[key] = nil
            }
            let gen = current.generation ?? 1
            next.generation = a == b ? gen : gen + 1
        } else {
            next.generation = current.generation
        }
        return next
    }

    static func sameIgnoringVersion(_ a: JSON, _ b: JSON) -> Bool {
        var a = a, b = b
        a.resourceVersion = nil
        b.resourceVersion = nil
        return a == b
    }

    /// Checks kind and apiVersion against the path; fills them in when missing.
    func checkTypeMeta(_ object: inout JSON, _ r: ResourceInfo) throws(APIError) -> [String] {
        guard object.isObject else { throw .badRequest("Object 'Kind' is missing in '\(object.serializedString().prefix(200))'") }
        if let kind = object.kind, !kind.isEmpty, kind != r.kind {
            throw .badRequest("the kind in the data (\(kind)) does not match the expected kind (\(r.kind))")
        }
        if let av = object.apiVersion, !av.isEmpty, av != r.apiVersion {
            throw .badRequest("the API version in the data (\(av)) does not match the expected API version (\(r.apiVersion))")
        }
        object.apiVersion = r.apiVersion
        object.kind = r.kind
        if object["metadata"] != nil, object["metadata"]?.isObject != true {
            throw .badRequest("json: cannot unmarshal \(object["metadata"]?.typeName ?? "null") into Go struct field \(r.kind).metadata of type v1.ObjectMeta")
        }
        return []
    }

    /// fieldValidation: unknown fields are an error (Strict, kubectl's default), a warning
    /// (Warn, the API's default) or dropped silently (Ignore); wrong types are always 400.
    func checkSchema(_ object: JSON, _ r: ResourceInfo, _ req: APIRequest) throws(APIError) -> [String] {
        let mode = req.queryValue("fieldValidation") ?? "Warn"
        guard ["Strict", "Warn", "Ignore"].contains(mode) else {
            throw .badRequest("fieldValidation: Unsupported value: \"\(mode)\": supported values: \"Ignore\", \"Strict\", \"Warn\"")
        }
        var unknownPaths: [String] = []
        if let type = r.schemaType {
            let check = SchemaCheck(object, type: type, schema: schema)
            if let first = check.typeErrors.first {
                throw .badRequest("\(r.kind) in version \"\(r.version)\" cannot be handled as a \(r.kind): \(first)")
            }
            unknownPaths = check.unknownFields
        } else if let unknownFields = r.strategy.unknownFields {
            unknownPaths = unknownFields(object)
        }
        let unknown = unknownPaths.map { "unknown field \"\($0)\"" }
        switch mode {
        case "Strict" where !unknown.isEmpty:
            throw .badRequest("strict decoding error: " + unknown.joined(separator: ", "))
        case "Warn": return unknown
        default: return []
        }
    }

    /// Metadata rules every kind shares, the schema's required fields, then the kind's own.
    func validate(_ r: ResourceInfo, _ object: JSON, old: JSON?) throws(APIError) {
        var causes: [APIError.Cause] = []
        let name = object.name ?? ""
        if name.isEmpty {
            causes.append(.required("metadata.name"))
        } else {
            causes += r.strategy.nameRule(name, false).map { .invalid("metadata.name", name, $0) }
        }
        causes += Validation.validateLabels(object.labels, fieldPath: "metadata.labels")
        causes += Validation.validateAnnotations(object.annotations, fieldPath: "metadata.annotations")
        for (i, f) in object.finalizers.enumerated() {
            for msg in Validation.isQualifiedName(f) { causes.append(.invalid("metadata.finalizers[\(i)]", f, msg)) }
        }
        if let type = r.schemaType {
            for path in SchemaCheck(object, type: type, schema: schema).missingRequired where !path.hasPrefix("status") {
                causes.append(.required(path))
            }
        }
        causes += r.strategy.validate(object, old)
        if !causes.isEmpty { throw r.invalid(name, causes) }
    }

    /// NamespaceLifecycle admission: no creates in a missing or terminating namespace.
    func admitNamespace(_ namespace: String) async throws(APIError) {
        guard let nsInfo = registry.lookup(group: "", version: "v1", resource: "namespaces") else { return }
        await consistentRead()
        guard let ns = await cache.get(nsInfo, key: nsInfo.key(namespace: nil, name: namespace)) else {
            throw .notFound("namespaces", namespace)
        }
        if let o = try? JSON.parse(ns.bytes), o.deletionTimestamp != nil || o[path: ["status", "phase"]]?.stringValue == "Terminating" {
            throw APIError(code: 403, reason: "Forbidden",
                           message: "unable to create new content in namespace \(namespace) because it is being terminated",
                           name: namespace, kind: "namespaces")
        }
    }

    func warningHeaders(_ warnings: [String]) -> [(String, String)] {
        warnings.map { w in ("Warning", "299 - \"\(w.replacingOccurrences(of: "\"", with: "\\\""))\"") }
    }

    static func validateFieldManager(_ manager: String) throws(APIError) {
        if manager.utf8.count > 128 {
            throw .invalid(kind: "PatchOptions", name: "", group: "meta.k8s.io",
                           causes: [.init(type: "FieldValueTooLong", message: "Too long: may not be more than 128 bytes", field: "fieldManager")])
        }
    }

    /// Who owns the fields a request writes: fieldManager, else the user agent's program name.
    static func manager(_ req: APIRequest) -> String {
        ServerSideApply.managerName(fieldManager: req.queryValue("fieldManager"), userAgent: req.header("user-agent"))
    }

    /// generateName plus five random characters from upstream's alphabet.
    static func generatedName(_ prefix: String) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        let base = prefix.count > 58 ? String(prefix.prefix(58)) : prefix
        return base + String((0..<5).map { _ in alphabet.randomElement() ?? "x" })
    }
}

extension APIError.Cause {
    func with(message: String) -> Self {
        var c = self
        c.message = message
        return c
    }
}
