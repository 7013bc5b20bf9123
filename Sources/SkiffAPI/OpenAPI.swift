import SkiffCore

/// A served resource as the OpenAPI documents describe it. Built by the server from its
/// registry; kept free of server types so the documents can be generated and tested here.
public struct OpenAPIResource: Sendable {
    public var group: String
    public var version: String
    public var kind: String
    /// The plural name used in paths ("deployments").
    public var resource: String
    public var namespaced: Bool
    /// The schema type of the kind ("apps/v1.Deployment").
    public var schemaType: String
    /// Discovery verbs; only these get operations.
    public var verbs: [String]
    public var subresources: [OpenAPISubresource]

    public static let allVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    public init(
        group: String, version: String, kind: String, resource: String, namespaced: Bool, schemaType: String,
        verbs: [String] = OpenAPIResource.allVerbs, subresources: [OpenAPISubresource] = []
    ) {
        self.group = group
        self.version = version
        self.kind = kind
        self.resource = resource
        self.namespaced = namespaced
        self.schemaType = schemaType
        self.verbs = verbs
        self.subresources = subresources
    }

    /// The key of this resource's group-version in the v3 index: "api/v1", "apis/apps/v1".
    public var groupVersionPath: String { group.isEmpty ? "api/\(version)" : "apis/\(group)/\(version)" }
}

/// A subresource (status, scale, binding...) with the kind its requests and responses carry.
public struct OpenAPISubresource: Sendable {
    public var name: String
    public var group: String
    public var version: String
    public var kind: String
    public var verbs: [String]

    public init(name: String, group: String, version: String, kind: String, verbs: [String]) {
        self.name = name
        self.group = group
        self.version = version
        self.kind = kind
        self.verbs = verbs
    }
}

/// The OpenAPI documents kubectl downloads before `apply` (to learn that the server
/// validates fields itself) and for `explain`: one OpenAPI 3.0 document per
/// group-version, and one Swagger 2.0 document for everything (JSON, and the gnostic
/// protobuf form that kubectl 1.27 and 1.28 insist on). Built once; serving is a lookup.
public struct OpenAPIDocuments: Sendable {
    private let v3Documents: [String: JSON]
    private let v3Hashes: [String: String]
    private let v3Order: [String]
    private let v2Document: JSON
    private let v2Bytes: [UInt8]

    /// Resources whose schema type is unknown (custom resources) are left out: with their
    /// group-version missing from the index, kubectl falls back to checking the
    /// CustomResourceDefinition operations, which take `fieldValidation`.
    public init(schema: APISchema, resources: [OpenAPIResource]) {
        let resources = resources.filter { schema[type: $0.schemaType] != nil }
        let kinds = OpenAPIBuilder.kindIndex(resources, schema: schema)
        var documents: [String: JSON] = [:]
        var order: [String] = []
        for resource in resources where documents[resource.groupVersionPath] == nil {
            let path = resource.groupVersionPath
            let members = resources.filter { $0.groupVersionPath == path }
            documents[path] = OpenAPIBuilder(schema: schema, dialect: .v3, kinds: kinds).document(for: members)
            order.append(path)
        }
        v3Documents = documents
        v3Hashes = documents.mapValues { ContentHash.hex($0.serialized()) }
        v3Order = order.sorted { ($0.hasPrefix("api/") ? 0 : 1, $0) < ($1.hasPrefix("api/") ? 0 : 1, $1) }
        v2Document = OpenAPIBuilder(schema: schema, dialect: .v2, kinds: kinds).document(for: resources)
        v2Bytes = SwaggerProtobuf.encode(v2Document)
    }

    /// The `/openapi/v3` index: every group-version with a hash-qualified URL, so clients
    /// can cache each document for as long as its hash stays the same.
    public func v3Index() -> JSON {
        var paths = JSONObject()
        for path in v3Order {
            paths[path] = ["serverRelativeURL": .string("/openapi/v3/\(path)?hash=\(v3Hash(path: path))")]
        }
        return ["paths": .object(paths)]
    }

    /// The OpenAPI 3.0 document of one group-version ("api/v1", "apis/apps/v1").
    public func v3(path: String) -> JSON? { v3Documents[path] }

    /// A content hash of the group-version's document; empty for an unknown path.
    public func v3Hash(path: String) -> String { v3Hashes[path] ?? "" }

    /// The Swagger 2.0 document of every served resource.
    public func v2JSON() -> JSON { v2Document }

    /// The same Swagger 2.0 document as a gnostic `openapi.v2.Document` protobuf message.
    public func v2Protobuf() -> [UInt8] { v2Bytes }
}

/// A 128-bit content hash (two FNV-1a lanes), enough to tell document versions apart.
enum ContentHash {
    static func hex(_ bytes: [UInt8]) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in bytes {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            b = (b ^ UInt64(byte ^ 0x5A)) &* 0x0000_0100_0000_01B3
        }
        return hex64(a) + hex64(b)
    }

    private static func hex64(_ v: UInt64) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// group/version/kind, as the `x-kubernetes-group-version-kind` extension spells it.
struct GroupVersionKind: Hashable, Sendable {
    var group: String
    var version: String
    var kind: String

    var json: JSON { ["group": .string(group), "kind": .string(kind), "version": .string(version)] }
}

/// Builds one document in one dialect. The two dialects differ only in how references,
/// parameters, request bodies and responses are spelled.
struct OpenAPIBuilder {
    enum Dialect { case v2, v3 }

    let schema: APISchema
    let dialect: Dialect
    /// The group-version-kinds each schema type is served as.
    let kinds: [String: [GroupVersionKind]]

    /// Schema types of the kinds served (and their lists and subresource kinds), with the
    /// group-version-kinds they are served as.
    static func kindIndex(_ resources: [OpenAPIResource], schema: APISchema) -> [String: [GroupVersionKind]] {
        var index: [String: [GroupVersionKind]] = [:]
        func add(_ type: String, _ gvk: GroupVersionKind) {
            guard schema[type: type] != nil, !(index[type] ?? []).contains(gvk) else { return }
            index[type, default: []].append(gvk)
        }
        for r in resources {
            add(r.schemaType, GroupVersionKind(group: r.group, version: r.version, kind: r.kind))
            add(r.schemaType + "List", GroupVersionKind(group: r.group, version: r.version, kind: r.kind + "List"))
            for sub in r.subresources {
                add(subresourceType(sub, of: r), GroupVersionKind(group: sub.group, version: sub.version, kind: sub.kind))
            }
        }
        return index
    }

    /// The schema type of a subresource's kind: the parent's own type for status, else
    /// the type named by the group's package ("autoscaling/v1.Scale", "policy/v1.Eviction").
    static func subresourceType(_ sub: OpenAPISubresource, of r: OpenAPIResource) -> String {
        if sub.kind == r.kind, sub.group == r.group, sub.version == r.version { return r.schemaType }
        let package = sub.group.isEmpty ? "core" : String(sub.group.split(separator: ".")[0])
        return "\(package)/\(sub.version).\(sub.kind)"
    }

    func document(for resources: [OpenAPIResource]) -> JSON {
        var paths = JSONObject()
        var roots: [String] = [Self.statusType, Self.deleteOptionsType]
        for r in resources {
            for (path, item) in pathItems(r) { paths[path] = item }
            roots.append(r.schemaType)
            roots.append(r.schemaType + "List")
            roots += r.subresources.map { Self.subresourceType($0, of: r) }
        }
        let definitions = self.definitions(reachableFrom: roots)
        switch dialect {
        case .v2:
            return ["swagger": "2.0", "info": Self.info, "paths": .object(paths), "definitions": .object(definitions)]
        case .v3:
            return [
                "openapi": "3.0.0", "info": Self.info, "paths": .object(paths),
                "components": ["schemas": .object(definitions)],
            ]
        }
    }

    static let info: JSON = ["title": "Skiff", "version": "unversioned"]
    static let statusType = "meta/v1.Status"
    static let deleteOptionsType = "meta/v1.DeleteOptions"
}

// MARK: - Schemas

extension OpenAPIBuilder {
    /// Definitions that are not schema types: values with a string form of their own.
    enum Builtin: String, CaseIterable {
        case quantity = "io.k8s.apimachinery.pkg.api.resource.Quantity"
        case intOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
        case time = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
        case microTime = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"
        case patch = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
    }

    /// Kubernetes' definition name of a schema type: "apps/v1.Deployment" becomes
    /// "io.k8s.api.apps.v1.Deployment"; meta and apiextensions live in their own modules.
    static func definitionName(_ type: String) -> String {
        guard let dot = type.firstIndex(of: ".") else { return type }
        let package = type[..<dot].split(separator: "/")
        let name = type[type.index(after: dot)...]
        let group = package.first.map(String.init) ?? ""
        let version = package.count > 1 ? String(package[1]) : ""
        switch group {
        case "meta": return "io.k8s.apimachinery.pkg.apis.meta.\(version).\(name)"
        case "apiextensions": return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.\(version).\(name)"
        default: return "io.k8s.api.\(group).\(version).\(name)"
        }
    }

    var refPrefix: String { dialect == .v2 ? "#/definitions/" : "#/components/schemas/" }

    func ref(definition name: String) -> JSON { ["$ref": .string(refPrefix + name)] }
    func ref(type: String) -> JSON { ref(definition: Self.definitionName(type)) }

    /// Every definition the roots need, sorted by name so documents (and hashes) are stable.
    func definitions(reachableFrom roots: [String]) -> JSONObject {
        var types = Set<String>()
        var builtins: Set<Builtin> = [.patch]
        var stack = roots.filter { schema[type: $0] != nil }
        while let type = stack.popLast() {
            guard types.insert(type).inserted, let def = schema[type: type] else { continue }
            for field in def.fields { collect(field.type, into: &stack, &builtins) }
        }
        var named: [(String, JSON)] = builtins.map { ($0.rawValue, builtinSchema($0)) }
        for type in types { if let def = schema[type: type] { named.append((Self.definitionName(type), definition(def))) } }
        return JSONObject(named.sorted { $0.0 < $1.0 })
    }

    private func collect(_ type: APISchema.FieldType, into stack: inout [String], _ builtins: inout Set<Builtin>) {
        switch type {
        case .ref(let name): stack.append(name)
        case .array(let e), .map(let e): collect(e, into: &stack, &builtins)
        case .quantity: builtins.insert(.quantity)
        case .intOrString: builtins.insert(.intOrString)
        case .time: builtins.insert(.time)
        case .microTime: builtins.insert(.microTime)
        default: break
        }
    }

    func builtinSchema(_ builtin: Builtin) -> JSON {
        switch (builtin, dialect) {
        case (.quantity, .v2): return ["type": "string"]
        case (.quantity, .v3): return ["oneOf": [["type": "string"], ["type": "number"]]]
        case (.intOrString, .v2): return ["type": "string", "format": "int-or-string"]
        case (.intOrString, .v3): return ["format": "int-or-string", "oneOf": [["type": "integer"], ["type": "string"]]]
        case (.time, _), (.microTime, _): return ["type": "string", "format": "date-time"]
        case (.patch, _): return ["type": "object", "description": "A patch in one of the supported patch formats."]
        }
    }

    /// One schema type as an object schema with the extensions apply and explain read.
    func definition(_ def: APISchema.TypeDef) -> JSON {
        var out = JSONObject()
        if let description = Self.kindDescription(def, gvks: kinds[def.name] ?? []) { out["description"] = .string(description) }
        out["type"] = "object"
        let required = def.fields.filter(\.required).map { JSON.string($0.name) }
        if !required.isEmpty { out["required"] = .array(required) }
        var properties = JSONObject()
        for field in def.fields { properties[field.name] = fieldSchema(field, of: def) }
        out["properties"] = .object(properties)
        if def.isAtomic { out["x-kubernetes-map-type"] = "atomic" }
        if let gvks = kinds[def.name] { out["x-kubernetes-group-version-kind"] = .array(gvks.map(\.json)) }
        return .object(out)
    }

    /// A field's schema: its value schema plus patch and list extensions. A reference with
    /// siblings is wrapped in allOf in v3, where siblings of $ref are ignored.
    func fieldSchema(_ field: APISchema.Field, of def: APISchema.TypeDef) -> JSON {
        var extras = JSONObject()
        if let description = Self.fieldDescription(field.name, of: def) { extras["description"] = .string(description) }
        if !field.patchStrategies.isEmpty {
            extras["x-kubernetes-patch-strategy"] = .string(field.patchStrategies.sorted().joined(separator: ","))
        }
        if let key = field.patchMergeKey { extras["x-kubernetes-patch-merge-key"] = .string(key) }
        if let listType = field.listType { extras["x-kubernetes-list-type"] = .string(listType) }
        if !field.listMapKeys.isEmpty { extras["x-kubernetes-list-map-keys"] = .array(field.listMapKeys.map { .string($0) }) }
        var base = valueSchema(field.type)
        if extras.isEmpty { return base }
        if dialect == .v3, base["$ref"] != nil { base = ["allOf": [base]] }
        var out = base.objectValue ?? JSONObject()
        for (k, v) in extras { out[k] = v }
        return .object(out)
    }

    func valueSchema(_ type: APISchema.FieldType) -> JSON {
        switch type {
        case .string: ["type": "string"]
        case .int32: ["type": "integer", "format": "int32"]
        case .int64: ["type": "integer", "format": "int64"]
        case .bool: ["type": "boolean"]
        case .double: ["type": "number", "format": "double"]
        case .bytes: ["type": "string", "format": "byte"]
        case .duration: ["type": "string"]
        case .quantity: ref(definition: Builtin.quantity.rawValue)
        case .intOrString: ref(definition: Builtin.intOrString.rawValue)
        case .time: ref(definition: Builtin.time.rawValue)
        case .microTime: ref(definition: Builtin.microTime.rawValue)
        // Free-form JSON: no type, so clients accept any value. Not `{}`, which explain's
        // templates take for a missing schema.
        case .any: ["description": "Any JSON value."]
        case .ref(let name): ref(type: name)
        case .array(let element): ["type": "array", "items": valueSchema(element)]
        case .map(let element): ["type": "object", "additionalProperties": valueSchema(element)]
        }
    }

    /// Our own one-line descriptions for served kinds; other types go without.
    static func kindDescription(_ def: APISchema.TypeDef, gvks: [GroupVersionKind]) -> String? {
        guard let gvk = gvks.first else { return nil }
        let apiVersion = gvk.group.isEmpty ? gvk.version : "\(gvk.group)/\(gvk.version)"
        if def.name.hasSuffix("List"), def.field("items") != nil { return "A list of \(gvk.kind.dropLast(4)) objects (\(apiVersion))." }
        return "\(gvk.kind) (\(apiVersion))."
    }

    /// Descriptions of the fields every kind and list shares.
    static func fieldDescription(_ name: String, of def: APISchema.TypeDef) -> String? {
        guard def.isObject || def.field("items") != nil && def.field("kind") != nil else { return nil }
        switch name {
        case "apiVersion": return "The versioned schema of this representation of the object (group/version)."
        case "kind": return "The kind of this object, in CamelCase."
        case "metadata": return def.field("items") != nil ? "Standard list metadata." : "Standard object metadata."
        case "spec": return "The desired state of the object."
        case "status": return "The most recently observed state of the object."
        case "items": return "The objects in the list."
        default: return nil
        }
    }
}
