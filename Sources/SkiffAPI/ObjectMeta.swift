import SkiffCore

/// Typed accessors over an object's JSON for the metadata every kind shares. Setting nil
/// removes the field, so objects never gain `null`s the client did not send.
extension JSON {
    public var kind: String? {
        get { self["kind"]?.stringValue }
        set { self["kind"] = newValue.map { .string($0) } }
    }

    public var apiVersion: String? {
        get { self["apiVersion"]?.stringValue }
        set { self["apiVersion"] = newValue.map { .string($0) } }
    }

    public var name: String? {
        get { self[path: ["metadata", "name"]]?.stringValue }
        set { setMeta("name", newValue.map { .string($0) }) }
    }

    public var namespace: String? {
        get { self[path: ["metadata", "namespace"]]?.stringValue }
        set { setMeta("namespace", newValue.map { .string($0) }) }
    }

    public var generateName: String? { self[path: ["metadata", "generateName"]]?.stringValue }

    public var uid: String? {
        get { self[path: ["metadata", "uid"]]?.stringValue }
        set { setMeta("uid", newValue.map { .string($0) }) }
    }

    public var resourceVersion: String? {
        get { self[path: ["metadata", "resourceVersion"]]?.stringValue }
        set { setMeta("resourceVersion", newValue.map { .string($0) }) }
    }

    public var generation: Int64? {
        get { self[path: ["metadata", "generation"]]?.int64Value }
        set { setMeta("generation", newValue.map { .number(JSONNumber($0)) }) }
    }

    public var creationTimestamp: String? {
        get { self[path: ["metadata", "creationTimestamp"]]?.stringValue }
        set { setMeta("creationTimestamp", newValue.map { .string($0) }) }
    }

    public var deletionTimestamp: String? {
        get { self[path: ["metadata", "deletionTimestamp"]]?.stringValue }
        set { setMeta("deletionTimestamp", newValue.map { .string($0) }) }
    }

    public var deletionGracePeriodSeconds: Int64? {
        get { self[path: ["metadata", "deletionGracePeriodSeconds"]]?.int64Value }
        set { setMeta("deletionGracePeriodSeconds", newValue.map { .number(JSONNumber($0)) }) }
    }

    public var labels: [String: String] { stringMap(self[path: ["metadata", "labels"]]) }
    public var annotations: [String: String] { stringMap(self[path: ["metadata", "annotations"]]) }

    public var finalizers: [String] {
        get { self[path: ["metadata", "finalizers"]]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        set { setMeta("finalizers", newValue.isEmpty ? nil : .array(newValue.map { .string($0) })) }
    }

    public var ownerReferences: [JSON] { self[path: ["metadata", "ownerReferences"]]?.arrayValue ?? [] }

    private mutating func setMeta(_ key: String, _ value: JSON?) {
        if value == nil, self["metadata"]?[key] == nil { return }
        self[path: ["metadata", key]] = value
    }
}

/// A JSON object of strings as a dictionary; non-string members are skipped.
public func stringMap(_ json: JSON?) -> [String: String] {
    guard let o = json?.objectValue else { return [:] }
    var m: [String: String] = [:]
    m.reserveCapacity(o.count)
    for (k, v) in o { if let s = v.stringValue { m[k] = s } }
    return m
}
