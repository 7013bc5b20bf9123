import SkiffAPI
import SkiffCore

/// CustomResourceDefinitions: the CRD kind's own rules (defaults, the Established status
/// apiextensions-apiserver reports), and the resources a CRD serves: one ResourceInfo per
/// served version, validated by the version's openAPIV3Schema.
enum CustomResources {
    static var definitionStrategy: ResourceStrategy {
        var s = BuiltinResources.createdAt()
        s.applyDefaults = { o in
            PodDefaults.setDefault(&o, "spec", [:])
            if o[path: ["spec", "conversion"]] == nil { o[path: ["spec", "conversion"]] = ["strategy": "None"] }
            if o[path: ["spec", "names", "singular"]] == nil, let kind = o[path: ["spec", "names", "kind"]]?.stringValue {
                o[path: ["spec", "names", "singular"]] = .string(kind.lowercased())
            }
            if o[path: ["spec", "names", "listKind"]] == nil, let kind = o[path: ["spec", "names", "kind"]]?.stringValue {
                o[path: ["spec", "names", "listKind"]] = .string(kind + "List")
            }
        }
        s.prepareForCreate = { o in o["status"] = [:] }
        s.validate = { o, old in validateDefinition(o, old) }
        s.afterDefaults = { o in establish(&o, now: Timestamp.now().rfc3339) }
        return s
    }

    /// Upstream's controllers mark accepted names and Established at once; Skiff has no
    /// name conflicts to wait for, so every valid CRD is established when stored.
    static func establish(_ o: inout JSON, now: String) {
        o[path: ["status", "acceptedNames"]] = o[path: ["spec", "names"]] ?? [:]
        let conditions: [JSON] = [
            ["type": "NamesAccepted", "status": "True", "lastTransitionTime": .string(now), "reason": "NoConflicts",
             "message": "no conflicts found"],
            ["type": "Established", "status": "True", "lastTransitionTime": .string(now), "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted"],
        ]
        let existing = o[path: ["status", "conditions"]]?.arrayValue ?? []
        if existing.count != 2 || existing.contains(where: { $0["status"] != "True" }) {
            o[path: ["status", "conditions"]] = .array(conditions)
        }
        var stored = o[path: ["status", "storedVersions"]]?.arrayValue ?? []
        for v in o[path: ["spec", "versions"]]?.arrayValue ?? [] where v["storage"]?.boolValue == true {
            if let name = v["name"], !stored.contains(name) { stored.append(name) }
        }
        o[path: ["status", "storedVersions"]] = .array(stored)
    }

    static func validateDefinition(_ o: JSON, _ old: JSON?) -> [APIError.Cause] {
        var causes: [APIError.Cause] = []
        let group = o[path: ["spec", "group"]]?.stringValue ?? ""
        let plural = o[path: ["spec", "names", "plural"]]?.stringValue ?? ""
        if group.isEmpty { causes.append(.required("spec.group")) } else if !group.contains(".") {
            causes.append(.invalid("spec.group", group, "should be a domain with at least one dot"))
        }
        if plural.isEmpty { causes.append(.required("spec.names.plural")) }
        if (o[path: ["spec", "names", "kind"]]?.stringValue ?? "").isEmpty { causes.append(.required("spec.names.kind")) }
        if let name = o.name, !plural.isEmpty, !group.isEmpty, name != "\(plural).\(group)" {
            causes.append(.invalid("metadata.name", name, "must be spec.names.plural+\".\"+spec.group"))
        }
        let scope = o[path: ["spec", "scope"]]?.stringValue ?? ""
        if !["Namespaced", "Cluster"].contains(scope) { causes.append(.unsupported("spec.scope", scope, ["Cluster", "Namespaced"])) }
        let versions = o[path: ["spec", "versions"]]?.arrayValue ?? []
        if versions.isEmpty { causes.append(.required("spec.versions")) }
        if versions.filter({ $0["storage"]?.boolValue == true }).count != 1 {
            causes.append(.invalid("spec.versions", "", "must have exactly one version marked as storage version"))
        }
        if let old, old[path: ["spec", "group"]] != o[path: ["spec", "group"]] {
            causes.append(.invalid("spec.group", group, "field is immutable"))
        }
        return causes
    }

    /// The resources a stored CRD serves, one per served version.
    static func resources(for crd: JSON) -> [ResourceInfo] {
        guard let group = crd[path: ["spec", "group"]]?.stringValue, let plural = crd[path: ["spec", "names", "plural"]]?.stringValue,
              let kind = crd[path: ["spec", "names", "kind"]]?.stringValue
        else { return [] }
        let names = crd[path: ["spec", "names"]] ?? [:]
        let namespaced = crd[path: ["spec", "scope"]]?.stringValue != "Cluster"
        let versions = crd[path: ["spec", "versions"]]?.arrayValue ?? []
        let storageVersion = versions.first { $0["storage"]?.boolValue == true }?["name"]?.stringValue
        return versions.compactMap { v -> ResourceInfo? in
            guard v["served"]?.boolValue == true, let version = v["name"]?.stringValue else { return nil }
            var subs: [SubresourceInfo] = []
            var scale: ScaleInfo?
            if v[path: ["subresources", "status"]] != nil {
                subs.append(SubresourceInfo(name: "status", kind: kind, group: group, version: version, verbs: ["get", "patch", "update"]))
            }
            if let s = v[path: ["subresources", "scale"]], s.isObject {
                subs.append(SubresourceInfo(name: "scale", kind: "Scale", group: "autoscaling", version: "v1", verbs: ["get", "patch", "update"]))
                scale = ScaleInfo(specReplicas: jsonPath(s["specReplicasPath"]?.stringValue ?? ".spec.replicas"),
                                  statusReplicas: jsonPath(s["statusReplicasPath"]?.stringValue ?? ".status.replicas"),
                                  selector: s["labelSelectorPath"]?.stringValue.map(jsonPath) ?? [],
                                  selectorIsString: true)
            }
            let schema = v[path: ["schema", "openAPIV3Schema"]]
            var strategy = ResourceStrategy()
            strategy.columns = columns(v["additionalPrinterColumns"]?.arrayValue)
            strategy.tracksGeneration = true
            strategy.validate = { o, _ in schema.map { StructuralSchema.validate(o, $0) } ?? [] }
            strategy.prune = { o in if let schema { StructuralSchema.prune(&o, schema) } }
            if let schema { strategy.unknownFields = { StructuralSchema.unknownFields($0, schema) } }
            var info = ResourceInfo(
                group: group, version: version, kind: kind, resource: plural,
                singular: names["singular"]?.stringValue ?? kind.lowercased(),
                shortNames: names["shortNames"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                categories: names["categories"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                namespaced: namespaced, subresources: subs, schemaType: nil,
                storagePrefix: "/registry/\(group)/\(plural)/", scale: scale, strategy: strategy)
            if versions.count > 1, let storageVersion {
                info.conversion = noneConversion(served: "\(group)/\(version)", stored: "\(group)/\(storageVersion)")
            }
            return info
        }
    }

    /// Conversion strategy None, upstream's default: the versions differ only in apiVersion.
    /// Objects are stored in the storage version and shown in the version asked for.
    static func noneConversion(served: String, stored: String) -> StorageConversion {
        StorageConversion(fromStorage: { o in
            var o = o
            o.apiVersion = served
            return o
        }, toStorage: { o in
            var o = o
            o.apiVersion = stored
            return o
        })
    }

    /// The version the CRD prefers: the storage version if served, else the first served.
    static func preferredVersion(_ crd: JSON) -> String? {
        let served = (crd[path: ["spec", "versions"]]?.arrayValue ?? []).filter { $0["served"]?.boolValue == true }
        return (served.first { $0["storage"]?.boolValue == true } ?? served.first)?["name"]?.stringValue
    }

    /// additionalPrinterColumns as table columns; with none, Age as upstream prints.
    static func columns(_ defs: [JSON]?) -> [TableColumn] {
        guard let defs, !defs.isEmpty else { return [Columns.age] }
        return defs.compactMap { d in
            guard let name = d["name"]?.stringValue, let path = d["jsonPath"]?.stringValue else { return nil }
            let components = jsonPath(path)
            return TableColumn(name, type: d["type"]?.stringValue ?? "string", format: d["format"]?.stringValue ?? "",
                               priority: d["priority"]?.intValue ?? 0, description: d["description"]?.stringValue ?? "") { o, _ in
                o[path: components] ?? .null
            }
        }
    }

    /// ".spec.replicas" -> ["spec", "replicas"] (the simple JSONPaths CRDs use).
    static func jsonPath(_ path: String) -> [String] {
        path.split(separator: ".").map(String.init).filter { !$0.isEmpty }
    }
}

/// The structural subset of OpenAPI v3 that CRD schemas use: types, properties, required,
/// items, additionalProperties, enum, bounds, and the x-kubernetes extensions that change
/// pruning (preserve-unknown-fields, int-or-string, embedded-resource).
enum StructuralSchema {
    static func validate(_ object: JSON, _ schema: JSON) -> [APIError.Cause] {
        var causes: [APIError.Cause] = []
        guard let props = schema["properties"]?.objectValue else { return [] }
        for (key, sub) in props where !["metadata", "apiVersion", "kind"].contains(key) {
            if let v = object[key] { check(v, sub, key, &causes) }
        }
        for case .string(let r) in schema["required"]?.arrayValue ?? [] where object[r] == nil {
            causes.append(.required(r))
        }
        return causes
    }

    static func check(_ value: JSON, _ schema: JSON, _ path: String, _ causes: inout [APIError.Cause]) {
        if value.isNull {
            if schema["nullable"]?.boolValue != true { causes.append(.invalid(path, "null", "\(path) in body must be of type \(schema["type"]?.stringValue ?? "object"): \"null\"")) }
            return
        }
        if schema["x-kubernetes-int-or-string"]?.boolValue == true {
            if value.stringValue == nil, value.int64Value == nil {
                causes.append(.invalid(path, value.serializedString(), "\(path) in body must be of type integer or string: \"\(value.typeName)\""))
            }
            return
        }
        let type = schema["type"]?.stringValue
        let ok: Bool = switch type {
        case "object": value.isObject
        case "array": value.arrayValue != nil
        case "string": value.stringValue != nil
        case "integer": value.int64Value != nil && (value.doubleValue.map { $0.rounded() == $0 } ?? false)
        case "number": value.doubleValue != nil
        case "boolean": value.boolValue != nil
        default: true
        }
        if !ok, let type {
            causes.append(.invalid(path, value.stringValue ?? value.serializedString(), "\(path) in body must be of type \(type): \"\(value.typeName == "number" ? (value.int64Value != nil ? "integer" : "number") : value.typeName)\""))
            return
        }
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(value) {
            causes.append(.unsupported(path, value.stringValue ?? value.serializedString(), allowed.map { $0.stringValue ?? $0.serializedString() }))
        }
        if let n = value.doubleValue {
            if let min = schema["minimum"]?.doubleValue, n < min { causes.append(.invalid(path, value.serializedString(), "should be greater than or equal to \(schema["minimum"]!.serializedString())")) }
            if let max = schema["maximum"]?.doubleValue, n > max { causes.append(.invalid(path, value.serializedString(), "should be less than or equal to \(schema["maximum"]!.serializedString())")) }
        }
        if let s = value.stringValue {
            if let min = schema["minLength"]?.intValue, s.count < min { causes.append(.invalid(path, s, "should be at least \(min) chars long")) }
            if let max = schema["maxLength"]?.intValue, s.count > max { causes.append(.invalid(path, s, "may not be more than \(max) chars long")) }
        }
        if let items = value.arrayValue {
            if let min = schema["minItems"]?.intValue, items.count < min { causes.append(.invalid(path, "", "should have at least \(min) items")) }
            if let max = schema["maxItems"]?.intValue, items.count > max { causes.append(.invalid(path, "", "should have at most \(max) items")) }
            if let itemSchema = schema["items"], itemSchema.isObject {
                for (i, item) in items.enumerated() { check(item, itemSchema, "\(path)[\(i)]", &causes) }
            }
        }
        if let o = value.objectValue {
            let props = schema["properties"]?.objectValue
            for (k, v) in o {
                if let sub = props?[k] {
                    check(v, sub, "\(path).\(k)", &causes)
                } else if let additional = schema["additionalProperties"], additional.isObject {
                    check(v, additional, "\(path).\(k)", &causes)
                }
            }
            for case .string(let r) in schema["required"]?.arrayValue ?? [] where o[r] == nil {
                causes.append(.required("\(path).\(r)"))
            }
        }
    }

    /// Drops fields the schema does not declare, unless x-kubernetes-preserve-unknown-fields.
    static func prune(_ object: inout JSON, _ schema: JSON) {
        guard var o = object.objectValue else { return }
        pruneObject(&o, schema, root: true)
        object = .object(o)
    }

    static func pruneObject(_ o: inout JSONObject, _ schema: JSON, root: Bool = false) {
        if schema["x-kubernetes-preserve-unknown-fields"]?.boolValue == true, schema["properties"] == nil { return }
        let props = schema["properties"]?.objectValue
        let additional = schema["additionalProperties"]
        for key in o.keys {
            if root, ["apiVersion", "kind", "metadata"].contains(key) { continue }
            if let sub = props?[key] {
                if var v = o[key] { pruneValue(&v, sub); o[key] = v }
            } else if let additional, additional.isObject {
                if var v = o[key] { pruneValue(&v, additional); o[key] = v }
            } else if additional?.boolValue != true, schema["x-kubernetes-preserve-unknown-fields"]?.boolValue != true {
                o[key] = nil
            }
        }
    }

    static func pruneValue(_ value: inout JSON, _ schema: JSON) {
        switch value {
        case .object(var o):
            if schema["x-kubernetes-embedded-resource"]?.boolValue == true { return }
            pruneObject(&o, schema)
            value = .object(o)
        case .array(var items):
            if let itemSchema = schema["items"], itemSchema.isObject {
                for i in items.indices { pruneValue(&items[i], itemSchema) }
            }
            value = .array(items)
        default:
            return
        }
    }

    /// The fields of `object` the schema does not declare (for fieldValidation Strict/Warn).
    static func unknownFields(_ object: JSON, _ schema: JSON) -> [String] {
        var pruned = object
        prune(&pruned, schema)
        var out: [String] = []
        diff(object, pruned, "", &out)
        return out
    }

    private static func diff(_ a: JSON, _ b: JSON, _ path: String, _ out: inout [String]) {
        if let ao = a.objectValue {
            let bo = b.objectValue ?? JSONObject()
            for (k, v) in ao {
                let p = path.isEmpty ? k : "\(path).\(k)"
                if let bv = bo[k] { diff(v, bv, p, &out) } else { out.append(p) }
            }
        } else if let aa = a.arrayValue, let ba = b.arrayValue {
            for (i, (x, y)) in zip(aa, ba).enumerated() { diff(x, y, "\(path)[\(i)]", &out) }
        }
    }
}
