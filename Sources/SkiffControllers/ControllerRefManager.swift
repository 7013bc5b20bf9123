import SkiffClient
import SkiffCore

/// Upstream's ControllerRefManager: an owner claims the orphans its selector matches
/// and releases the objects it controls that no longer match, so that relabelling an
/// object moves it in or out of a controller's care.
struct ControllerRefManager {
    let client: Client
    let resource: Resource
    let owner: JSON
    let selector: LabelSelector

    /// The objects `owner` controls once orphans are adopted and strays released.
    /// `filter` narrows what may be adopted (a StatefulSet adopts only pods named after it).
    func claim(_ objects: [JSON], filter: (JSON) -> Bool = { _ in true }) async throws -> [JSON] {
        // An empty, absent or unparsable selector neither adopts nor releases: validation
        // forbids it, and releasing everything would be the worst reading of it.
        let usable = !selector.isEmpty && !selector.matchesNothing
        var owned: [JSON] = []
        for o in objects {
            let matches = !usable || (selector.matches(o.labels) && filter(o))
            if let ref = controllerRef(o) {
                guard ref["uid"]?.stringValue == owner.uid else { continue }
                if matches || owner.deletionTimestamp != nil {
                    owned.append(o)
                } else if o.deletionTimestamp == nil {
                    try await setOwnerReferences(client, resource, o, o.ownerReferences.filter { $0["uid"]?.stringValue != owner.uid })
                }
            } else if usable, matches, owner.deletionTimestamp == nil, o.deletionTimestamp == nil,
                      let adopted = try await setOwnerReferences(client, resource, o, o.ownerReferences + [ownerReference(owner)]) {
                owned.append(adopted)
            }
        }
        return owned
    }
}

extension ControllerRefManager {
    /// The keys of the owners whose selector matches an orphan: each may adopt it, so
    /// each is synced when it appears or changes.
    static func adopters(of orphan: JSON, among owners: [JSON], selector: (JSON) -> LabelSelector) -> [String] {
        guard orphan.deletionTimestamp == nil else { return [] }
        return owners.filter { o in
            let s = selector(o)
            return !s.isEmpty && s.matches(orphan.labels)
        }.map(objectKey)
    }
}

/// Replaces an object's owner references (and adds `finalizer`, which a Job's pods
/// carry). The uid precondition keeps a recreated object of the same name from being
/// changed by mistake; with a finalizer, whose list is replaced whole, the
/// resourceVersion one keeps a concurrent change to it from being lost. One that is gone
/// or changed is left to the next sync (nil).
@discardableResult
func setOwnerReferences(_ client: Client, _ resource: Resource, _ o: JSON, _ refs: [JSON], addingFinalizer finalizer: String? = nil) async throws -> JSON? {
    var patch: JSON = ["metadata": ["ownerReferences": .array(refs), "uid": .string(o.uid ?? "")]]
    if let finalizer, !o.finalizers.contains(finalizer) {
        patch[path: ["metadata", "finalizers"]] = .array((o.finalizers + [finalizer]).map { .string($0) })
        patch[path: ["metadata", "resourceVersion"]] = .string(o.resourceVersion ?? "")
    }
    do {
        return try await client.patch(resource, namespace: o.namespace, o.name ?? "", merge: patch)
    } catch let e as ClientError where e.isNotFound || e.isConflict {
        return nil
    }
}
