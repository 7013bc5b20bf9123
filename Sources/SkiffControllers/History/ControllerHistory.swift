import SkiffClient
import SkiffCore

/// ControllerRevisions as upstream's pkg/controller/history keeps them: immutable
/// snapshots of a parent's template, named `<parent>-<hash>`, labelled with the hash and
/// numbered by `revision`. A template seen before is renumbered rather than stored twice,
/// which is how a rollback moves an old revision to the top of the history.
struct ControllerHistory {
    let client: Client

    static let hashLabel = "controller-revision-hash"

    /// HashControllerRevision: FNV-1 (32 bit) over the data's bytes, then the collision
    /// count's digits, spelled with SafeEncodeString.
    static func hash(data: JSON, collisionCount: Int64) -> String {
        var h: UInt32 = 2_166_136_261
        for b in data.serialized() + Array(String(collisionCount).utf8) {
            h = h &* 16_777_619
            h ^= UInt32(b)
        }
        return safeEncode(String(h))
    }

    /// ControllerRevisionName: the parent's name (at most 223 characters) and the hash.
    static func name(parent: String, hash: String) -> String {
        "\(parent.prefix(223))-\(hash)"
    }

    /// NewControllerRevision: controlled by `parent`, labelled with its template's labels
    /// and the hash, carrying `annotations`.
    static func make(parent: JSON, labels: JSON?, annotations: JSON?, data: JSON, revision: Int64, collisionCount: Int64) -> JSON {
        let hash = hash(data: data, collisionCount: collisionCount)
        var meta: JSON = ["name": .string(name(parent: parent.name ?? "", hash: hash)), "namespace": .string(parent.namespace ?? "")]
        var labelMap = labels?.objectValue ?? JSONObject()
        labelMap[hashLabel] = .string(hash)
        meta["labels"] = .object(labelMap)
        if let annotations, annotations.objectValue?.isEmpty == false { meta["annotations"] = annotations }
        meta["ownerReferences"] = [ownerReference(parent)]
        return ["apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta, "data": data,
                "revision": .number(JSONNumber(revision))]
    }

    static func revision(_ r: JSON) -> Int64 { r["revision"]?.int64Value ?? 0 }

    /// Oldest first: by revision, then creation, then name, as upstream sorts history.
    static func sorted(_ revisions: [JSON]) -> [JSON] {
        revisions.sorted {
            (revision($0), $0.creationTimestamp ?? "", $0.name ?? "") < (revision($1), $1.creationTimestamp ?? "", $1.name ?? "")
        }
    }

    /// EqualRevision: the same data, unless both carry hash labels and they differ.
    static func equal(_ a: JSON, _ b: JSON) -> Bool {
        if let ha = a.labels[hashLabel], let hb = b.labels[hashLabel], ha != hb { return false }
        return sameData(a, b)
    }

    /// Upstream compares the data's bytes; JSON equality here ignores key order, which
    /// the bytes of one writer never differ in.
    static func sameData(_ a: JSON, _ b: JSON) -> Bool { (a["data"] ?? .null) == (b["data"] ?? .null) }

    /// CreateControllerRevision: a name already taken by other data is a hash collision,
    /// so the collision count goes up and the name changes; the same data is the same revision.
    func create(_ revision: JSON, parent: JSON, collisionCount: inout Int64) async throws -> JSON {
        var candidate = revision
        while true {
            let hash = Self.hash(data: revision["data"] ?? .null, collisionCount: collisionCount)
            candidate[path: ["metadata", "name"]] = .string(Self.name(parent: parent.name ?? "", hash: hash))
            candidate[path: ["metadata", "labels", Self.hashLabel]] = .string(hash)
            do {
                return try await client.create(.controllerRevisions, namespace: parent.namespace, candidate)
            } catch let e as ClientError where e.isAlreadyExists {
                let existing = try await client.get(.controllerRevisions, namespace: parent.namespace, candidate.name ?? "")
                if Self.sameData(existing, candidate) { return existing }
                collisionCount += 1
            }
        }
    }

    /// UpdateControllerRevision: only the number changes; the data is immutable.
    func renumber(_ revision: JSON, to number: Int64) async throws -> JSON {
        guard Self.revision(revision) != number else { return revision }
        return try await client.patch(.controllerRevisions, namespace: revision.namespace, revision.name ?? "",
                                      merge: ["revision": .number(JSONNumber(number))])
    }

    func delete(_ revision: JSON) async throws {
        try await client.delete(.controllerRevisions, namespace: revision.namespace, revision.name ?? "", preconditionUID: revision.uid, ignoreNotFound: true)
    }

    /// getPatch (StatefulSets and DaemonSets alike): the parent's template as a strategic
    /// merge patch that replaces it whole, with keys sorted and `creationTimestamp: null`
    /// as Go writes the typed template. kubectl computes the same bytes to tell whether
    /// `rollout undo` is needed, and applies them as they are to roll back.
    static func templatePatch(_ parent: JSON) -> JSON {
        var template = parent[path: ["spec", "template"]] ?? [:]
        if template[path: ["metadata", "creationTimestamp"]] == nil { template[path: ["metadata", "creationTimestamp"]] = .null }
        template["$patch"] = "replace"
        return canonical(["spec": ["template": template]])
    }

    /// The revision `parent`'s template is, among its `revisions` (oldest first): the
    /// newest if equal, else an equal older one renumbered to the top, else a new one.
    func revision(of parent: JSON, among revisions: [JSON], collisionCount: inout Int64) async throws -> JSON {
        let next = (revisions.last.map(Self.revision) ?? 0) + 1
        let candidate = Self.make(parent: parent, labels: parent[path: ["spec", "template", "metadata", "labels"]],
                                  annotations: parent[path: ["metadata", "annotations"]],
                                  data: Self.templatePatch(parent), revision: next, collisionCount: collisionCount)
        let equal = revisions.filter { Self.equal($0, candidate) }
        if let latest = revisions.last, let match = equal.last, match.name == latest.name { return latest }
        if let match = equal.last { return try await renumber(match, to: next) }
        return try await create(candidate, parent: parent, collisionCount: &collisionCount)
    }

    /// Deletes the oldest of `revisions` beyond the parent's revisionHistoryLimit (10)
    /// whose names are not `inUse`.
    func truncate(_ revisions: [JSON], of parent: JSON, inUse: Set<String>) async throws {
        let idle = revisions.filter { !inUse.contains($0.name ?? "") }
        let limit = parent[path: ["spec", "revisionHistoryLimit"]]?.intValue ?? 10
        for r in idle.prefix(max(0, idle.count - limit)) { try await delete(r) }
    }
}
