import SkiffCore

/// A field another manager owns that an apply would change.
struct SSAConflict: Sendable {
    var manager: ManagerID
    var path: FieldPath
}

struct SSAConflicts: Error, Sendable {
    var items: [SSAConflict]
}

/// The result of merging an applied configuration, before it is stored.
struct SSAApplyOutcome: Sendable {
    /// The merged object as the client's JSON had it (no Go round trip).
    var object: JSON
    /// Whether the object changed as upstream sees it; only then is the applier's time set.
    var changed: Bool
    var state: ManagedFieldsState
}

/// One request's view: the kind's type, the fields its (sub)resource resets, and the API
/// version and time entries are recorded with.
struct SSAEngine: Sendable {
    let types: SSATypes
    let root: SSANode
    let reset: FieldSet
    let subresource: String
    let apiVersion: String
    let now: String

    init(schema: APISchema, type: String?, subresource: String, statusSubresource: Bool?, apiVersion: String, now: String) {
        types = SSATypes(schema: schema)
        root = types.root(type)
        let hasStatus = statusSubresource ?? (type.flatMap { schema[type: $0]?.field("status") } != nil)
        reset = Self.resetFields(type: type, subresource: subresource, statusSubresource: hasStatus)
        self.subresource = subresource
        self.apiVersion = apiVersion
        self.now = now
    }

    /// The strategies' GetResetFields: the main resource does not own status, the status
    /// subresource does not own spec (nor what the kind's status strategy also resets).
    static func resetFields(type: String?, subresource: String, statusSubresource: Bool) -> FieldSet {
        switch subresource {
        case "": return statusSubresource ? FieldSet([[.field("status")]]) : FieldSet()
        case "status": return FieldSet([[.field("spec")]] + (type.flatMap { SSATables.statusResetExtras[$0] } ?? []))
        default: return FieldSet()
        }
    }

    /// stripMetaManager's set: fields the system owns, never a manager.
    static let strippedFields = FieldSet([
        [.field("apiVersion")], [.field("kind")], [.field("metadata")],
    ] + ["name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation", "managedFields", "resourceVersion"]
        .map { [.field("metadata"), .field($0)] })

    static let managedFieldsPath = ["metadata", "managedFields"]
}

// MARK: - Update

extension SSAEngine {
    func update(_ new: JSON, from old: JSON?, manager: String) -> JSON {
        var state = decodeLiveOrNew(old: old, new: new)
        let object = ServerSideApply.removingManagedFields(new)
        // An existing object nobody tracks (or whose tracking the client reset) stays so.
        if state.sets.isEmpty, old != nil { return object }
        let normOld = types.goNormalized(ServerSideApply.removingManagedFields(old ?? .object(JSONObject())), root)
        let normNew = types.goNormalized(object, root)
        guard types.validate(normOld, root, allowDuplicates: true).isEmpty,
              types.validate(normNew, root, allowDuplicates: true).isEmpty else {
            return ServerSideApply.settingManagedFields(object, old?[path: Self.managedFieldsPath])
        }
        let id = ManagerID(manager: manager.isEmpty ? "unknown" : manager, operation: .update, apiVersion: apiVersion, subresource: subresource)
        recordUpdate(old: normOld, new: normNew, id: id, state: &state)
        state.capUpdateManagers(ServerSideApply.maxUpdateManagers)
        return ServerSideApply.settingManagedFields(object, state.encoded())
    }

    /// Which entries an update starts from: the stored ones on a subresource; else the
    /// client's when it sent valid ones (none at all when it sent a reset), else the stored.
    func decodeLiveOrNew(old: JSON?, new: JSON) -> ManagedFieldsState {
        let stored = (try? ManagedFieldsState(entries: old?[path: Self.managedFieldsPath])) ?? ManagedFieldsState()
        if !subresource.isEmpty { return stored }
        let sent = new[path: Self.managedFieldsPath]
        if ManagedFieldsState.isReset(sent) { return ManagedFieldsState() }
        if let decoded = try? ManagedFieldsState(entries: sent), !decoded.sets.isEmpty { return decoded }
        return stored
    }

    /// Upstream's Updater.Update under managedFieldsUpdater and stripMeta: what changed is
    /// taken from every manager and added to `id`, whose time moves only if it got fields.
    func recordUpdate(old: JSON, new: JSON, id: ManagerID, state: inout ManagedFieldsState) {
        var managers = state.sets
        guard let c = try? reconcile(old: old, new: new, managers: &managers, skipping: nil, force: true) else { return }
        let taken = c.modified.union(c.added).recursivelySubtracting(reset).subtracting(Self.strippedFields)
        if !taken.isEmpty {
            let previous = managers[id]?.set ?? FieldSet()
            managers[id] = ManagedSet(set: taken.union(previous), apiVersion: apiVersion, applied: false)
            state.times[id] = now
        }
        state.sets = managers
    }

    /// Upstream's Updater.update: managers other than `skipping` lose the fields the change
    /// sets or removes; without force, setting a field another manager owns is a conflict.
    @discardableResult
    func reconcile(old: JSON, new: JSON, managers: inout [ManagerID: ManagedSet], skipping: ManagerID?, force: Bool) throws(SSAConflicts) -> SSAComparison {
        let c = types.compare(old, new, root).excluding(reset)
        let changed = c.modified.union(c.added)
        if !force {
            let conflicts = managers.filter { $0.key != skipping }.flatMap { id, managed in
                managed.set.intersection(changed).paths().map { SSAConflict(manager: id, path: $0) }
            }
            if !conflicts.isEmpty { throw SSAConflicts(items: Self.sorted(conflicts)) }
        }
        for (id, managed) in managers where id != skipping {
            managers[id]?.set = managed.set.subtracting(changed).subtracting(c.removed)
        }
        managers = managers.filter { !$0.value.set.isEmpty }
        return c
    }

    /// Managers in identifier order, each one's paths in set order.
    static func sorted(_ conflicts: [SSAConflict]) -> [SSAConflict] {
        let order = Dictionary(grouping: conflicts.indices) { conflicts[$0].manager.identifier }
        return order.keys.sorted { SSAValue.compareStrings($0, $1) < 0 }.flatMap { key in
            (order[key] ?? []).map { conflicts[$0] }
        }
    }
}

// MARK: - Apply

extension SSAEngine {
    func apply(_ applied: JSON, to live: JSON?, manager: String, force: Bool) throws(APIError) -> JSON {
        let liveObject = ServerSideApply.removingManagedFields(live ?? .object(JSONObject()))
        let normLive = try typedObjects(applied, liveObject)
        var state = try storedState(live)
        if state.sets.isEmpty, live != nil {
            // Fields set before anyone applied get an owner, so the first apply conflicts
            // with them (skipNonAppliedManager).
            let before = ManagerID(manager: "before-first-apply", operation: .update, apiVersion: apiVersion, subresource: subresource)
            recordUpdate(old: types.goNormalized(.object(JSONObject()), root), new: normLive, id: before, state: &state)
        }
        let id = ManagerID(manager: manager.isEmpty ? "unknown" : manager, operation: .apply, apiVersion: apiVersion, subresource: subresource)
        var outcome = try applyAllowingClientSideApply(applied, live: liveObject, normLive: normLive, id: id, force: force, state: state)
        if outcome.changed { outcome.state.times[id] = now }
        var object = outcome.changed ? outcome.object : liveObject
        if manager == "kubectl" { object = syncLastApplied(object, applied) }
        return ServerSideApply.settingManagedFields(object, outcome.state.encoded())
    }

    /// Types the configuration strictly and the live object leniently (duplicates allowed),
    /// failing as upstream's ObjectToTyped does; returns the live object as Go sees it.
    private func typedObjects(_ applied: JSON, _ liveObject: JSON) throws(APIError) -> JSON {
        let configErrors = types.validate(applied, root, allowDuplicates: false)
        guard configErrors.isEmpty else {
            throw Self.failure("failed to create typed patch object (\(ServerSideApply.describeObject(applied))): \(SSAValidationError.describe(configErrors))")
        }
        let normLive = types.goNormalized(liveObject, root)
        let liveErrors = types.validate(normLive, root, allowDuplicates: true)
        guard liveErrors.isEmpty else {
            throw Self.failure("failed to create typed live object (\(ServerSideApply.describeObject(liveObject))): \(SSAValidationError.describe(liveErrors))")
        }
        return normLive
    }

    private func storedState(_ live: JSON?) throws(APIError) -> ManagedFieldsState {
        do {
            return try ManagedFieldsState(entries: live?[path: Self.managedFieldsPath])
        } catch {
            throw Self.failure("failed to decode managed fields: \(error.message)")
        }
    }

    /// lastAppliedManager: kubectl's apply may take over, without force, the fields its
    /// client-side-apply annotation still describes.
    private func applyAllowingClientSideApply(
        _ applied: JSON, live: JSON, normLive: JSON, id: ManagerID, force: Bool, state: ManagedFieldsState
    ) throws(APIError) -> SSAApplyOutcome {
        do {
            return try applyConfig(applied, live: live, normLive: normLive, id: id, force: force, state: state)
        } catch {
            guard id.manager == "kubectl", let allowed = allowedConflicts(live: live, normLive: normLive) else {
                throw Self.conflictError(error.items)
            }
            let remaining = error.items.filter { !allowed.has($0.path) }
            guard remaining.isEmpty else { throw Self.conflictError(remaining) }
            do {
                return try applyConfig(applied, live: live, normLive: normLive, id: id, force: true, state: state)
            } catch {
                throw Self.conflictError(error.items)
            }
        }
    }

    /// Upstream's Updater.Apply under stripMeta: merge, make the configuration's fields the
    /// applier's, prune what it applied before and no longer does, then resolve ownership.
    func applyConfig(_ config: JSON, live: JSON, normLive: JSON, id: ManagerID, force: Bool, state: ManagedFieldsState) throws(SSAConflicts) -> SSAApplyOutcome {
        var managers = state.sets
        let empty = JSON.object(JSONObject())
        let mergedN = types.merge(normLive, config, root) ?? empty
        let mergedRaw = types.merge(live, config, root) ?? empty
        let last = managers[id]?.set
        managers[id] = ManagedSet(set: types.fieldSet(of: config, root).recursivelySubtracting(reset), apiVersion: apiVersion, applied: true)
        let pruned = prunedItems(mergedN, managers: managers, last: last)
        let finalN = types.removing(pruned, from: mergedN, root) ?? empty
        let finalRaw = types.removing(pruned, from: mergedRaw, root, dropEmptied: true) ?? empty
        try reconcile(old: normLive, new: finalN, managers: &managers, skipping: id, force: force)
        if let own = managers[id] {
            let kept = own.set.subtracting(Self.strippedFields)
            managers[id] = kept.isEmpty ? nil : ManagedSet(set: kept, apiVersion: own.apiVersion, applied: true)
        }
        var next = state
        next.sets = managers
        return SSAApplyOutcome(object: finalRaw, changed: !SSAValue.equal(normLive, finalN), state: next)
    }

    /// Upstream's prune: what the applier applied last time and omits now goes, unless a
    /// manager (the applier's new configuration included) owns it; items only dragged out
    /// with a pruned parent come back.
    func prunedItems(_ merged: JSON, managers: [ManagerID: ManagedSet], last: FieldSet?) -> FieldSet {
        guard let last, !last.isEmpty else { return FieldSet() }
        let lastNamed = named(last)
        let firstCut = types.removing(lastNamed, from: merged, root) ?? .null
        let mergedSet = named(types.fieldSet(of: merged, root))
        let owned = named(managers.values.reduce(FieldSet()) { $0.union($1.set) })
        let ownedBack = mergedSet.subtracting(named(types.fieldSet(of: firstCut, root)).union(owned))
        let secondCut = types.removing(ownedBack, from: merged, root) ?? .null
        return mergedSet.subtracting(named(types.fieldSet(of: secondCut, root))).intersection(lastNamed)
    }

    private func named(_ set: FieldSet) -> FieldSet {
        types.ensuringNamedFields(set, root)
    }
}

// MARK: - kubectl client-side apply

extension SSAEngine {
    /// The fields of the last-applied-configuration annotation that still hold the live
    /// values: kubectl owned them client-side, so its server-side apply may take them.
    func allowedConflicts(live: JSON, normLive: JSON) -> FieldSet? {
        guard let text = live[path: ["metadata", "annotations", ServerSideApply.lastAppliedAnnotation]]?.stringValue,
              !text.isEmpty, let lastApplied = try? JSON.parse(text), lastApplied.isObject,
              lastApplied.apiVersion == apiVersion,
              types.validate(lastApplied, root, allowDuplicates: false).isEmpty else { return nil }
        let c = types.compare(lastApplied, normLive, root)
        return types.fieldSet(of: lastApplied, root).subtracting(c.modified).subtracting(c.added).subtracting(c.removed)
    }

    /// lastAppliedUpdater: kubectl's server-side apply keeps an existing annotation equal
    /// to what it applied, so a later client-side apply diffs against the right thing.
    func syncLastApplied(_ object: JSON, _ applied: JSON) -> JSON {
        let key = ServerSideApply.lastAppliedAnnotation
        guard let current = object[path: ["metadata", "annotations", key]]?.stringValue, !current.isEmpty,
              var annotations = object[path: ["metadata", "annotations"]]?.objectValue else { return object }
        var config = applied
        if var own = config[path: ["metadata", "annotations"]]?.objectValue {
            own[key] = nil
            config[path: ["metadata", "annotations"]] = .object(own)
        }
        annotations[key] = .string(SSAValue.goJSON(config))
        let size = annotations.reduce(0) { $0 + $1.0.utf8.count + ($1.1.stringValue?.utf8.count ?? 0) }
        if size > 256 * 1024 { annotations[key] = nil }
        var out = object
        out[path: ["metadata", "annotations"]] = .object(annotations)
        return out
    }
}

// MARK: - Errors

extension SSAEngine {
    /// NewConflictError: 409 Conflict with one FieldManagerConflict cause per field.
    static func conflictError(_ conflicts: [SSAConflict]) -> APIError {
        let causes = conflicts.map {
            APIError.Cause(type: "FieldManagerConflict", message: "conflict with \($0.manager.printed)", field: $0.path.pathString)
        }
        return APIError(code: 409, reason: "Conflict", message: conflictMessage(conflicts), causes: causes)
    }

    static func conflictMessage(_ conflicts: [SSAConflict]) -> String {
        if conflicts.count == 1, let c = conflicts.first {
            return "Apply failed with 1 conflict: conflict with \(c.manager.printed): \(c.path.pathString)"
        }
        var lines: [String] = []
        var current: ManagerID?
        for c in conflicts {
            if c.manager != current {
                lines.append("conflicts with \(c.manager.printed):")
                current = c.manager
            }
            lines.append("- \(c.path.pathString)")
        }
        return "Apply failed with \(conflicts.count) conflicts: " + lines.joined(separator: "\n")
    }

    /// An error upstream returns as a plain Go error: 500 with no reason.
    static func failure(_ message: String) -> APIError {
        APIError(code: 500, reason: "", message: message)
    }
}
