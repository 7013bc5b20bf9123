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
    /// The merged object as the client's JSON had it (no Go round trip); the live object
    /// when nothing changed, as then the merge is not built.
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
        case "": return statusSubresource ? statusOnly : FieldSet()
        case "status": return FieldSet([[.field("spec")]] + (type.flatMap { SSATables.statusResetExtras[$0] } ?? []))
        default: return FieldSet()
        }
    }

    private static let statusOnly = FieldSet([[.field("status")]])

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
        if old == nil, state.sets.isEmpty { return create(object, manager: manager) }
        // Both sides as Go would write them (a create compares with the zero object), but
        // normalized lazily by the walks rather than copied.
        let normOld = SSAView(raw: ServerSideApply.removingManagedFields(old ?? .object(JSONObject())), norm: .go)
        let normNew = SSAView(raw: object, norm: .go)
        guard types.isValid(normOld, root, allowDuplicates: true), types.isValid(normNew, root, allowDuplicates: true) else {
            return ServerSideApply.settingManagedFields(object, old?[path: Self.managedFieldsPath])
        }
        let id = ManagerID(manager: manager.isEmpty ? "unknown" : manager, operation: .update, apiVersion: apiVersion, subresource: subresource)
        recordUpdate(old: normOld, new: normNew, id: id, state: &state)
        state.capUpdateManagers(ServerSideApply.maxUpdateManagers)
        return ServerSideApply.settingManagedFields(object, state.encoded())
    }

    /// A create that brought no entries of its own: no other manager can lose a field, so
    /// the creator's entry is all there is to write, and it is written directly.
    private func create(_ object: JSON, manager: String) -> JSON {
        let zero = SSAView(raw: .object(JSONObject()), norm: .go), normNew = SSAView(raw: object, norm: .go)
        // The walk checks the new object as it goes; the zero object is checked here.
        guard types.isValid(zero, root, allowDuplicates: true),
              let fields = types.changedFieldsV1(zero, normNew, root, reset: reset, stripped: Self.strippedFields),
              !fields.isEmpty else { return object }
        let id = ManagerID(manager: manager.isEmpty ? "unknown" : manager, operation: .update, apiVersion: apiVersion, subresource: subresource)
        let entry = ManagedFieldsState.entry(id, apiVersion: apiVersion, applied: false, time: now, fieldsV1: .object(fields))
        return ServerSideApply.settingManagedFields(object, .array([entry]))
    }

    /// Which entries an update starts from: the stored ones on a subresource; else the
    /// client's when it sent valid ones (none at all when it sent a reset), else the stored.
    func decodeLiveOrNew(old: JSON?, new: JSON) -> ManagedFieldsState {
        func stored() -> ManagedFieldsState {
            (try? ManagedFieldsState(entries: old?[path: Self.managedFieldsPath])) ?? ManagedFieldsState()
        }
        if !subresource.isEmpty { return stored() }
        let sent = new[path: Self.managedFieldsPath]
        if ManagedFieldsState.isReset(sent) { return ManagedFieldsState() }
        if sent != nil, let decoded = try? ManagedFieldsState(entries: sent), !decoded.sets.isEmpty { return decoded }
        return stored()
    }

    /// Upstream's Updater.Update under managedFieldsUpdater and stripMeta: what changed is
    /// taken from every manager and added to `id`, whose time moves only if it got fields.
    func recordUpdate(old: SSAView, new: SSAView, id: ManagerID, state: inout ManagedFieldsState) {
        var managers = state.sets
        guard let c = try? reconcile(old: old, new: new, managers: &managers, skipping: nil, force: true) else { return }
        let taken = c.changed.recursivelySubtracting(reset).subtracting(Self.strippedFields)
        if !taken.isEmpty {
            let previous = managers[id]?.set ?? FieldSet()
            managers[id] = ManagedSet(set: taken.union(previous), apiVersion: apiVersion, applied: false)
            state.times[id] = now
        }
        state.sets = managers
    }

    /// Upstream's Updater.update: managers other than `skipping` lose the fields the change
    /// sets or removes; without force, setting a field another manager owns is a conflict.
    /// `unchanged` says the caller already knows both sides are equal, so nothing changed.
    @discardableResult
    func reconcile(old: SSAView, new: SSAView, managers: inout [ManagerID: ManagedSet], skipping: ManagerID?, force: Bool,
                   unchanged: Bool = false) throws(SSAConflicts) -> SSAComparison {
        let c = unchanged ? SSAComparison() : types.compare(old, new, root).excluding(reset)
        let changed = c.changed
        if !force, !changed.isEmpty {
            let conflicts = managers.filter { $0.key != skipping }.flatMap { id, managed in
                managed.set.intersection(changed).paths().map { SSAConflict(manager: id, path: $0) }
            }
            if !conflicts.isEmpty { throw SSAConflicts(items: Self.sorted(conflicts)) }
        }
        let lost = changed.union(c.removed)
        if !lost.isEmpty {
            for (id, managed) in managers where id != skipping {
                // Untouched managers keep their sets as they are (and their encoded form).
                if let reduced = managed.set.difference(lost, recursive: false) { managers[id]?.set = reduced }
            }
        }
        if managers.values.contains(where: { $0.set.isEmpty }) { managers = managers.filter { !$0.value.set.isEmpty } }
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
            recordUpdate(old: SSAView(raw: .object(JSONObject()), norm: .go), new: SSAView(raw: normLive, norm: .none), id: before, state: &state)
        }
        let id = ManagerID(manager: manager.isEmpty ? "unknown" : manager, operation: .apply, apiVersion: apiVersion, subresource: subresource)
        var outcome = try applyAllowingClientSideApply(applied, live: liveObject, normLive: normLive, id: id, force: force, state: state)
        if outcome.changed { outcome.state.times[id] = now }
        var object = outcome.object
        if manager == "kubectl" { object = syncLastApplied(object, applied) }
        return ServerSideApply.settingManagedFields(object, outcome.state.encoded())
    }

    /// Types the configuration strictly and the live object leniently (duplicates allowed),
    /// failing as upstream's ObjectToTyped does; returns the live object as Go sees it.
    private func typedObjects(_ applied: JSON, _ liveObject: JSON) throws(APIError) -> JSON {
        // The quick check first; the messages only when there is something to say.
        if !types.isValid(SSAView(raw: applied, norm: .none), root, allowDuplicates: false) {
            let configErrors = types.validate(applied, root, allowDuplicates: false)
            if !configErrors.isEmpty {
                throw Self.failure("failed to create typed patch object (\(ServerSideApply.describeObject(applied))): \(SSAValidationError.describe(configErrors))")
            }
        }
        if let normLive = types.checkedNormalized(SSAView(raw: liveObject, norm: .go), root) { return normLive }
        let normLive = types.goNormalized(liveObject, root)
        let liveErrors = types.validate(normLive, root, allowDuplicates: true)
        if !liveErrors.isEmpty {
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
        let mergedN = types.merge(normLive, config, root, asSet: true) ?? empty
        let last = managers[id]
        managers[id] = ManagedSet(set: types.fieldSet(of: config, root).recursivelySubtracting(reset), apiVersion: apiVersion, applied: true)
        let pruned = prunedItems(mergedN, managers: managers, last: last?.set)
        // Removing nothing gives the same object back.
        let finalN = pruned.isEmpty ? mergedN : types.removing(pruned, from: mergedN, root) ?? empty
        let changed = !SSAValue.equal(normLive, finalN)
        try reconcile(old: SSAView(raw: normLive, norm: .none), new: SSAView(raw: finalN, norm: .none), managers: &managers,
                      skipping: id, force: force, unchanged: !changed)
        if let own = managers[id] {
            let kept = own.set.subtracting(Self.strippedFields)
            if kept.isEmpty {
                managers[id] = nil
            } else {
                // Reapplying the same fields keeps the stored set, and with it its FieldsV1.
                let same = last.map { $0.set == kept } ?? false
                managers[id] = ManagedSet(set: same ? last?.set ?? kept : kept, apiVersion: own.apiVersion, applied: true)
            }
        }
        var next = state
        next.sets = managers
        guard changed else { return SSAApplyOutcome(object: live, changed: false, state: next) }
        let mergedRaw = types.merge(live, config, root, asSet: false) ?? empty
        let finalRaw = pruned.isEmpty ? mergedRaw : types.removing(pruned, from: mergedRaw, root, dropEmptied: true) ?? empty
        return SSAApplyOutcome(object: finalRaw, changed: true, state: next)
    }

    /// Upstream's prune: what the applier applied last time and omits now goes, unless a
    /// manager (the applier's new configuration included) owns it; items only dragged out
    /// with a pruned parent come back.
    func prunedItems(_ merged: JSON, managers: [ManagerID: ManagedSet], last: FieldSet?) -> FieldSet {
        guard let last, !last.isEmpty else { return FieldSet() }
        let lastNamed = named(last)
        // Field sets are taken with named fields as members throughout (upstream names both
        // sides before comparing), and a cut is compared with `merged` where it differs.
        let firstCut = types.removing(lastNamed, from: merged, root) ?? .null
        let owned = named(managers.values.reduce(FieldSet()) { $0.union($1.set) })
        let ownedBack = types.vanished(merged, firstCut, root, minus: owned)
        // Adding nothing back cuts nothing more: what vanishes is what `merged` already lacks.
        guard !ownedBack.isEmpty else { return FieldSet() }
        let secondCut = types.removing(ownedBack, from: merged, root) ?? .null
        return types.vanished(merged, secondCut, root).intersection(lastNamed)
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
              types.isValid(SSAView(raw: lastApplied, norm: .none), root, allowDuplicates: false) else { return nil }
        let c = types.compare(SSAView(raw: lastApplied, norm: .none), SSAView(raw: normLive, norm: .none), root)
        return types.fieldSet(of: lastApplied, root).subtracting(c.changed).subtracting(c.removed)
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
