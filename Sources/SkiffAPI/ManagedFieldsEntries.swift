import SkiffCore

enum ManagedOperation: String, Sendable {
    case apply = "Apply"
    case update = "Update"
}

/// Who owns a field set: upstream's manager identifier. An applier is one manager whatever
/// API version it applies with, so appliers leave the version out.
struct ManagerID: Hashable, Sendable {
    var manager: String
    var operation: ManagedOperation
    var apiVersion: String
    var subresource: String

    init(manager: String, operation: ManagedOperation, apiVersion: String, subresource: String) {
        self.manager = manager
        self.operation = operation
        self.apiVersion = operation == .apply ? "" : apiVersion
        self.subresource = subresource
    }

    /// The identifier as upstream spells it (json.Marshal of the entry's identifying
    /// fields); conflicts and capped managers are sorted by it.
    var identifier: String {
        var parts: [String] = []
        if !manager.isEmpty { parts.append("\"manager\":" + SSAValue.goJSONString(manager)) }
        parts.append("\"operation\":\"\(operation.rawValue)\"")
        if !apiVersion.isEmpty { parts.append("\"apiVersion\":" + SSAValue.goJSONString(apiVersion)) }
        if !subresource.isEmpty { parts.append("\"subresource\":" + SSAValue.goJSONString(subresource)) }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// printManager: `"kubectl"`, `"kube-controller-manager" with subresource "status" using v1`.
    var printed: String {
        var s = goQuote(manager)
        if !subresource.isEmpty { s += " with subresource \(goQuote(subresource))" }
        if operation == .update { s += " using \(apiVersion)" }
        return s
    }
}

/// One manager's fields and the API version they were recorded at.
struct ManagedSet: Sendable {
    var set: FieldSet
    var apiVersion: String
    var applied: Bool
}

/// The decoded `metadata.managedFields`: field sets and times by manager.
struct ManagedFieldsState: Sendable {
    var sets: [ManagerID: ManagedSet] = [:]
    var times: [ManagerID: String] = [:]

    /// Upstream's DecodeManagedFields; a later entry with the same identity replaces an
    /// earlier one.
    init(entries: JSON?) throws(FieldsV1Error) {
        guard let entries, !entries.isNull else { return }
        guard case .array(let list) = entries else { throw FieldsV1Error(message: "managedFields must be a list") }
        for (i, entry) in list.enumerated() {
            let (id, managed, time) = try Self.decodeEntry(entry, i)
            sets[id] = managed
            times[id] = time
        }
    }

    init() {}

    private static func decodeEntry(_ entry: JSON, _ i: Int) throws(FieldsV1Error) -> (ManagerID, ManagedSet, String?) {
        guard case .object(let e) = entry else { throw FieldsV1Error(message: "managed fields entry \(i) is not an object") }
        guard let operation = ManagedOperation(rawValue: try string(e, "operation")) else {
            throw FieldsV1Error(message: "operation must be `Apply` or `Update`")
        }
        let apiVersion = try string(e, "apiVersion")
        guard !apiVersion.isEmpty else { throw FieldsV1Error(message: "apiVersion must not be empty") }
        switch try string(e, "fieldsType") {
        case "FieldsV1": break
        case "": throw FieldsV1Error(message: "missing fieldsType in managed fields entry \(i)")
        case let other: throw FieldsV1Error(message: "invalid fieldsType \(goQuote(other)) in managed fields entry \(i)")
        }
        let id = ManagerID(manager: try string(e, "manager"), operation: operation, apiVersion: apiVersion,
                           subresource: try string(e, "subresource"))
        let set = try FieldSet(fieldsV1: e["fieldsV1"] ?? .null)
        let time = e["time"]?.stringValue.map { Timestamp(rfc3339: $0)?.rfc3339 ?? $0 }
        return (id, ManagedSet(set: set, apiVersion: apiVersion, applied: operation == .apply), time)
    }

    private static func string(_ e: JSONObject, _ key: String) throws(FieldsV1Error) -> String {
        switch e[key] {
        case nil, .null?: return ""
        case .string(let s)?: return s
        default: throw FieldsV1Error(message: "\(key) must be a string")
        }
    }

    /// Whether a client asks to drop all managed fields: an empty list, or one empty entry.
    static func isReset(_ entries: JSON?) -> Bool {
        guard case .array(let list)? = entries else { return false }
        if list.isEmpty { return true }
        guard list.count == 1, case .object(let entry) = list[0] else { return false }
        return entry.allSatisfy { key, value in
            switch key {
            case "manager", "operation", "apiVersion", "fieldsType", "subresource":
                return value.isNull || value.stringValue == ""
            case "time", "fieldsV1":
                return value.isNull
            default:
                return true
            }
        }
    }

    /// The `managedFields` list sorted as upstream sorts it (operation, time, manager,
    /// API version, subresource); nil when no manager is left.
    func encoded() -> JSON? {
        guard !sets.isEmpty else { return nil }
        let keyed = sets.map { id, managed in (Self.sortKey(id, times[id]), id, managed) }
        let sorted = keyed.count < 2 ? keyed : keyed.sorted { $0.0.lexicographicallyPrecedes($1.0) }
        return .array(sorted.map { entry($0.1, $0.2) })
    }

    private static func sortKey(_ id: ManagerID, _ time: String?) -> [SortPart] {
        [.text(id.operation.rawValue), .seconds(time.flatMap { Timestamp(rfc3339: $0)?.seconds } ?? 0),
         .text(id.manager), .text(id.apiVersion), .text(id.subresource)]
    }

    private func entry(_ id: ManagerID, _ managed: ManagedSet) -> JSON {
        Self.entry(id, apiVersion: managed.apiVersion, applied: managed.applied, time: times[id], fieldsV1: managed.set.fieldsV1)
    }

    /// One `managedFields` entry, its keys in the order upstream writes them.
    static func entry(_ id: ManagerID, apiVersion: String, applied: Bool, time: String?, fieldsV1: JSON) -> JSON {
        var e = SSAValue.emptyObject(capacity: 7)
        if !id.manager.isEmpty { e["manager"] = .string(id.manager) }
        e["operation"] = .string(applied ? ManagedOperation.apply.rawValue : id.operation.rawValue)
        e["apiVersion"] = .string(apiVersion)
        if let time { e["time"] = .string(time) }
        e["fieldsType"] = "FieldsV1"
        e["fieldsV1"] = fieldsV1
        if !id.subresource.isEmpty { e["subresource"] = .string(id.subresource) }
        return .object(e)
    }

    /// Upstream's capManagersManager: past `max` update entries, the oldest are merged into
    /// one "ancient-changes" entry per API version.
    mutating func capUpdateManagers(_ max: Int) {
        var updaters = sets.filter { !$0.value.applied }.map(\.key)
        guard updaters.count > max else { return }
        updaters.sort { a, b in
            let (ta, tb) = (seconds(a), seconds(b))
            return ta != tb ? ta < tb : SSAValue.compareStrings(a.identifier, b.identifier) < 0
        }
        var firstByVersion: [String: ManagerID] = [:]
        var length = updaters.count
        for id in updaters where length > max {
            guard let managed = sets[id] else { continue }
            guard let first = firstByVersion[managed.apiVersion] else {
                firstByVersion[managed.apiVersion] = id
                continue
            }
            let bucket = ManagerID(manager: "ancient-changes", operation: .update, apiVersion: managed.apiVersion, subresource: "")
            if sets[bucket] == nil {
                sets[bucket] = sets.removeValue(forKey: first)
                times[first] = nil
            }
            let merged = managed.set.union(sets[bucket]?.set ?? FieldSet())
            sets[bucket] = ManagedSet(set: merged, apiVersion: managed.apiVersion, applied: managed.applied)
            times[bucket] = times[id]
            sets[id] = nil
            times[id] = nil
            length -= 1
        }
    }

    private func seconds(_ id: ManagerID) -> Int64 {
        times[id].flatMap { Timestamp(rfc3339: $0)?.seconds } ?? 0
    }
}

/// A sort key part: text in Go's byte order, or seconds.
private enum SortPart: Comparable {
    case text(String)
    case seconds(Int64)

    static func < (a: SortPart, b: SortPart) -> Bool {
        switch (a, b) {
        case (.text(let x), .text(let y)): return SSAValue.compareStrings(x, y) < 0
        case (.seconds(let x), .seconds(let y)): return x < y
        case (.text, .seconds): return true
        case (.seconds, .text): return false
        }
    }
}
