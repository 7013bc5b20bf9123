import SkiffCore

/// Server-side apply and field ownership (`metadata.managedFields`) as kube-apiserver keeps
/// them: structured-merge-diff's merge, compare and ownership rules, wrapped in the layers
/// of apimachinery's field manager (manager identities, stripped metadata, reset fields,
/// "before-first-apply", the cap of ten update entries, kubectl's client-side-apply
/// upgrade). Objects are compared in the form Go writes them (`SSATypes.goNormalized`), so
/// ownership follows what upstream would record.
///
/// The handler calls `update` for create, update and non-apply patches (after defaulting,
/// before the strategy resets fields or allocates anything) and `apply` for apply patches
/// (then defaults, resets and validates the result); neither stores anything. An object
/// created by apply must not also go through `update`: its creator would take every field
/// from the applier. `manager` is `managerName(fieldManager:userAgent:)`.
public enum ServerSideApply {
    /// Applies a configuration. `live` is nil when the object does not exist yet. Returns
    /// the merged object with metadata.managedFields updated; the caller still defaults,
    /// resets what the (sub)resource may not change, validates and stores it.
    /// `subresource` is "status" for applies to /status; `statusSubresource` says whether
    /// the main resource has one (defaults to whether the type has a status field).
    public static func apply(
        _ applied: JSON, to live: JSON?, manager: String, force: Bool, type: String?, schema: APISchema,
        now: String, subresource: String? = nil, statusSubresource: Bool? = nil
    ) throws(APIError) -> JSON {
        if let live { try checkAppliedType(applied, apiVersion: live.apiVersion ?? "", kind: live.kind ?? "") }
        if let managedFields = applied[path: ["metadata", "managedFields"]], !managedFields.isNull {
            throw .badRequest("metadata.managedFields must be nil")
        }
        let engine = SSAEngine(schema: schema, type: type, subresource: subresource ?? "",
                               statusSubresource: statusSubresource, apiVersion: live?.apiVersion ?? applied.apiVersion ?? "", now: now)
        return try engine.apply(applied, to: live, manager: manager, force: force)
    }

    /// Bookkeeping for create, update and patch: fields that changed between `old` and
    /// `new` move to `manager` (operation "Update"). `old` is nil on create. Managed fields
    /// the client sent replace the stored ones (an empty list drops them) except on a
    /// subresource. Never fails: on objects it cannot type it keeps the stored entries.
    public static func update(
        _ new: JSON, from old: JSON?, manager: String, subresource: String?, type: String?, schema: APISchema,
        now: String, statusSubresource: Bool? = nil
    ) -> JSON {
        let engine = SSAEngine(schema: schema, type: type, subresource: subresource ?? "",
                               statusSubresource: statusSubresource, apiVersion: new.apiVersion ?? old?.apiVersion ?? "", now: now)
        return engine.update(new, from: old, manager: manager)
    }

    /// The 400 upstream gives when an applied object's apiVersion or kind is not the
    /// resource's. `apply` checks this against `live`; call it for creates.
    public static func checkAppliedType(_ applied: JSON, apiVersion: String, kind: String) throws(APIError) {
        guard applied.apiVersion != apiVersion || applied.kind != kind else { return }
        throw .badRequest("invalid object type: \(gvkString(applied.apiVersion ?? "", applied.kind ?? ""))")
    }

    /// The manager of a request: `fieldManager`, else the user agent up to its first "/"
    /// with unprintable characters dropped, at most 128 bytes (managerOrUserAgent).
    public static func managerName(fieldManager: String?, userAgent: String?) -> String {
        if let fieldManager, !fieldManager.isEmpty { return fieldManager }
        let prefix = (userAgent ?? "").split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        var out = ""
        for ch in prefix where ch.unicodeScalars.allSatisfy(isPrintable) {
            if out.utf8.count + ch.utf8.count > 128 { break }
            out.append(ch)
        }
        return out
    }

    /// Upstream's IgnoreManagedFieldsTimestampsTransformer: when an update changes nothing
    /// but managedFields times, the old times are kept so the write is a no-op. Call it on
    /// the final object before deciding whether to store.
    public static func keepingTimestamps(_ new: JSON, old: JSON) -> JSON {
        let path = ["metadata", "managedFields"]
        guard let newEntries = new[path: path]?.arrayValue, let oldEntries = old[path: path]?.arrayValue,
              newEntries.count == oldEntries.count,
              zip(newEntries, oldEntries).allSatisfy({ SSAValue.equal(withoutTime($0), withoutTime($1)) }),
              SSAValue.equal(removingManagedFields(new), removingManagedFields(old)) else { return new }
        var out = new
        out[path: path] = .array(oldEntries)
        return out
    }

    static func withoutTime(_ entry: JSON) -> JSON {
        guard case .object(var e) = entry else { return entry }
        e["time"] = nil
        return .object(e)
    }

    static func removingManagedFields(_ object: JSON) -> JSON {
        guard var metadata = object["metadata"]?.objectValue, metadata["managedFields"] != nil else { return object }
        metadata["managedFields"] = nil
        var out = object
        out["metadata"] = .object(metadata)
        return out
    }

    static func settingManagedFields(_ object: JSON, _ entries: JSON?) -> JSON {
        var out = removingManagedFields(object)
        if let entries { out[path: ["metadata", "managedFields"]] = entries }
        return out
    }

    /// schema.GroupVersionKind's String(): `apps/v1, Kind=Deployment`, `/v1, Kind=Pod`.
    static func gvkString(_ apiVersion: String, _ kind: String) -> String {
        let parts = apiVersion.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let (group, version) = parts.count == 2 ? (String(parts[0]), String(parts[1])) : ("", apiVersion)
        return "\(group)/\(version), Kind=\(kind)"
    }

    /// objectGVKNN: `default/nginx; apps/v1, Kind=Deployment`.
    static func describeObject(_ object: JSON) -> String {
        "\(object.namespace ?? "")/\(object.name ?? ""); \(gvkString(object.apiVersion ?? "", object.kind ?? ""))"
    }

    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: false
        case .spaceSeparator: scalar == " "
        default: true
        }
    }

    static let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"
    static let maxUpdateManagers = 10
}
