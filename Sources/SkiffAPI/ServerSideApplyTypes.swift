import SkiffCore

/// A value's type as structured-merge-diff sees it, derived from `APISchema` the way
/// kube-openapi's schemaconv derives it from OpenAPI: list types from
/// `x-kubernetes-list-type` or else the patch strategy, atomic structs from `+structType`.
indirect enum SSANode: Equatable, Sendable {
    case scalar(SSAScalar)
    /// A schema type with named fields.
    case structure(String)
    /// A map[string]T; atomic when `+mapType=atomic`.
    case map(SSANode, atomic: Bool)
    case list(SSANode, SSAListKind)
    /// Schemaless data (`__untyped_deduced_`): scalars, atomic lists, granular maps.
    case deduced
    /// `__untyped_atomic_` (RawExtension): every list and map atomic.
    case untypedAtomic
    /// The root of a custom resource: typed ObjectMeta, everything else deduced.
    case customResource
}

enum SSAScalar: Equatable, Sendable {
    case string, numeric, boolean, untyped
}

enum SSAListKind: Equatable, Sendable {
    case atomic
    case set
    case map([String])
}

/// One of the shapes a node can take; deduced types offer several and the value picks.
enum SSAAtom: Equatable, Sendable {
    case scalar(SSAScalar)
    case list(element: SSANode, kind: SSAListKind)
    case map(SSAMapShape)
}

struct SSAMapShape: Equatable, Sendable {
    enum Fields: Equatable, Sendable {
        case none
        case structType(String)
        case customResource
    }

    var fields: Fields
    /// The type of keys that are not named fields; nil where none are allowed.
    var element: SSANode?
    var atomic: Bool
}

/// Answers the type questions the SSA walkers ask, over one `APISchema`.
struct SSATypes: Sendable {
    let schema: APISchema

    /// The root node for a kind: its schema type, or a custom resource when there is none.
    func root(_ type: String?) -> SSANode {
        if let type, schema[type: type] != nil { return .structure(type) }
        return .customResource
    }

    /// The shapes a node can take, in the order upstream's handleAtom tries them.
    func atoms(_ node: SSANode) -> [SSAAtom] {
        switch node {
        case .scalar(let kind): return [.scalar(kind)]
        case .structure(let name):
            guard let type = schema[type: name] else { return atoms(.deduced) }
            return [.map(SSAMapShape(fields: .structType(name), element: nil, atomic: type.isAtomic))]
        case .map(let element, let atomic):
            return [.map(SSAMapShape(fields: .none, element: element, atomic: atomic))]
        case .list(let element, let kind): return [.list(element: element, kind: kind)]
        case .deduced:
            return [.map(SSAMapShape(fields: .none, element: .deduced, atomic: false)),
                    .scalar(.untyped), .list(element: .untypedAtomic, kind: .atomic)]
        case .untypedAtomic:
            return [.map(SSAMapShape(fields: .none, element: .untypedAtomic, atomic: true)),
                    .scalar(.untyped), .list(element: .untypedAtomic, kind: .atomic)]
        case .customResource:
            return [.map(SSAMapShape(fields: .customResource, element: .deduced, atomic: false))]
        }
    }

    /// The shape a value takes (upstream's deduceAtom): the one matching its JSON kind,
    /// or all of them for null or a mismatch (validation reports the latter).
    func atom(_ node: SSANode, for value: JSON?) -> SSAAtom? {
        deduced(atoms(node), value).first
    }

    func deduced(_ atoms: [SSAAtom], _ value: JSON?) -> [SSAAtom] {
        let match: SSAAtom?
        switch value {
        case .bool?, .number?, .string?: match = atoms.first { if case .scalar = $0 { true } else { false } }
        case .array?: match = atoms.first { if case .list = $0 { true } else { false } }
        case .object?: match = atoms.first { if case .map = $0 { true } else { false } }
        case .null?, nil: match = nil
        }
        return match.map { [$0] } ?? atoms
    }

    /// The type of a map key: the named field's, else the map's element type.
    func fieldNode(_ shape: SSAMapShape, _ key: String) -> SSANode? {
        switch shape.fields {
        case .structType(let name):
            if let type = schema[type: name], let field = type.field(key) { return node(for: field, in: name) }
        case .customResource:
            switch key {
            case "apiVersion", "kind": return .scalar(.string)
            case "metadata": return schema[type: Self.objectMeta] != nil ? .structure(Self.objectMeta) : .deduced
            default: break
            }
        case .none: break
        }
        return shape.element
    }

    /// Whether a key is a declared field (structs own such keys through their leaves only).
    func isNamedField(_ shape: SSAMapShape, _ key: String) -> Bool {
        switch shape.fields {
        case .structType(let name): return schema[type: name]?.field(key) != nil
        case .customResource: return ["apiVersion", "kind", "metadata"].contains(key)
        case .none: return false
        }
    }

    func node(for field: APISchema.Field, in owner: String) -> SSANode {
        switch field.type {
        case .array(let element): return .list(node(of: element), listKind(field))
        case .map(let element):
            return .map(node(of: element), atomic: SSATables.atomicMapFields.contains(owner + "." + field.name))
        default: return node(of: field.type)
        }
    }

    func node(of type: APISchema.FieldType) -> SSANode {
        switch type {
        case .string, .bytes, .duration: return .scalar(.string)
        case .int32, .int64, .double: return .scalar(.numeric)
        case .bool: return .scalar(.boolean)
        case .quantity, .intOrString, .time, .microTime: return .scalar(.untyped)
        case .any: return .deduced
        case .ref(let name): return schema[type: name] != nil ? .structure(name) : .deduced
        case .array(let element): return .list(node(of: element), .atomic)
        case .map(let element): return .map(node(of: element), atomic: false)
        }
    }

    /// schemaconv's rule: the list type if declared, else a merge strategy makes a map (by
    /// its merge key) or a set, else the list is atomic.
    func listKind(_ field: APISchema.Field) -> SSAListKind {
        switch field.listType {
        case "atomic": return .atomic
        case "set": return .set
        case "map": return .map(field.listMapKeys)
        default:
            guard field.patchStrategies.contains("merge") else { return .atomic }
            return field.patchMergeKey.map { .map([$0]) } ?? .set
        }
    }

    /// The OpenAPI default of a list-map key field, used when an item omits the key.
    func keyDefault(_ element: SSANode, _ key: String) -> JSON? {
        guard case .structure(let name) = element else { return nil }
        return SSATables.keyDefaults[name]?[key]
    }

    static let objectMeta = "meta/v1.ObjectMeta"
}

/// Facts of upstream's OpenAPI and Go types that `APISchema` does not record.
enum SSATables {
    /// Map fields marked `+mapType=atomic`.
    static let atomicMapFields: Set<String> = [
        "core/v1.PodSpec.nodeSelector",
        "core/v1.ServiceSpec.selector",
        "core/v1.ReplicationControllerSpec.selector",
    ]

    /// `+default` values of list-map key fields: an item without the key is keyed by it.
    static let keyDefaults: [String: [String: JSON]] = [
        "core/v1.ContainerPort": ["protocol": "TCP"],
        "core/v1.ServicePort": ["protocol": "TCP"],
        "core/v1.EndpointPort": ["protocol": "TCP"],
        "discovery/v1.EndpointPort": ["protocol": "TCP"],
    ]

    /// Struct fields Go holds by value (not pointer) although their JSON tag has
    /// omitempty, so Go always writes them; spec, status and metadata are covered by rule.
    static let valueStructFields: Set<String> = [
        "apps/v1.DeploymentSpec.strategy",
        "apps/v1.StatefulSetSpec.updateStrategy",
        "apps/v1.DaemonSetSpec.updateStrategy",
        "apps/v1.ReplicaSetSpec.template",
        "core/v1.PodTemplate.template",
        "core/v1.PodTemplateSpec.spec",
        "batch/v1.JobTemplateSpec.spec",
        "core/v1.Container.resources",
        "core/v1.EphemeralContainerCommon.resources",
        "core/v1.PersistentVolumeClaimSpec.resources",
        "core/v1.ServiceStatus.loadBalancer",
        "networking/v1.IngressStatus.loadBalancer",
        "core/v1.NodeStatus.daemonEndpoints",
        "core/v1.NodeStatus.nodeInfo",
        "core/v1.NodeDaemonEndpoints.kubeletEndpoint",
        "core/v1.Event.source",
    ]

    /// metav1.Time fields held by value: Go writes them as null when zero.
    static let valueTimeFields: Set<String> = [
        "meta/v1.ObjectMeta.creationTimestamp",
        "core/v1.PodCondition.lastProbeTime",
        "core/v1.PodCondition.lastTransitionTime",
    ]

    /// Extra fields a kind's status subresource resets (GetResetFields), besides spec.
    static let statusResetExtras: [String: [FieldPath]] = [
        "apps/v1.Deployment": [[.field("metadata"), .field("labels")]],
        "core/v1.Pod": [[.field("metadata"), .field("deletionTimestamp")], [.field("metadata"), .field("ownerReferences")]],
    ]
}
