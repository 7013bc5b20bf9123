import SkiffCore
import Synchronization

/// A value's type as structured-merge-diff sees it, derived from `APISchema` the way
/// kube-openapi's schemaconv derives it from OpenAPI: list types from
/// `x-kubernetes-list-type` or else the patch strategy, atomic structs from `+structType`.
/// A node is an index into the schema's `SSACompiledSchema`, so walking a value costs array
/// lookups rather than schema dictionary lookups and string building per field.
struct SSANode: Hashable, Sendable {
    let id: Int

    /// Schemaless data (`__untyped_deduced_`): scalars, atomic lists, granular maps.
    static let deduced = SSANode(id: 0)
    /// `__untyped_atomic_` (RawExtension): every list and map atomic.
    static let untypedAtomic = SSANode(id: 1)
    /// The root of a custom resource: typed ObjectMeta, everything else deduced.
    static let customResource = SSANode(id: 2)
    static let string = SSANode(id: 3)
    static let numeric = SSANode(id: 4)
    static let boolean = SSANode(id: 5)
    static let untypedScalar = SSANode(id: 6)
    static let firstStruct = 7
}

enum SSANodeKind: Sendable {
    case scalar(SSAScalar)
    /// A schema type with named fields: an index into `SSACompiledSchema.structs`.
    case structure(Int)
    /// A map[string]T; atomic when `+mapType=atomic`.
    case map(SSANode, atomic: Bool)
    case list(SSANode, SSAListKind)
    case deduced
    case untypedAtomic
    case customResource
}

enum SSAScalar: Equatable, Sendable {
    case string, numeric, boolean, untyped
}

enum SSAListKind: Hashable, Sendable {
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
        case structType(Int)
        case customResource
    }

    var fields: Fields
    /// The type of keys that are not named fields; nil where none are allowed.
    var element: SSANode?
    var atomic: Bool
}

/// A node with its shapes, in the order upstream's handleAtom tries them, and which shape
/// a value of each JSON kind takes (upstream's deduceAtom); nil means none matches. A class,
/// so looking a node up costs one reference rather than copying its arrays and enums.
final class SSANodeInfo: Sendable {
    let kind: SSANodeKind
    let atoms: [SSAAtom]
    let scalarAtom: Int?
    let listAtom: Int?
    let mapAtom: Int?
    /// Whether `goNormalized` returns every value of this type unchanged.
    let normalizesToItself: Bool

    init(kind: SSANodeKind, atoms: [SSAAtom], scalarAtom: Int?, listAtom: Int?, mapAtom: Int?, normalizesToItself: Bool) {
        self.kind = kind
        self.atoms = atoms
        self.scalarAtom = scalarAtom
        self.listAtom = listAtom
        self.mapAtom = mapAtom
        self.normalizesToItself = normalizesToItself
    }
}

/// How a field's value reaches the form Go writes: through its type, and for Quantity
/// fields (and maps and lists of them) also to Quantity's canonical text.
enum SSANorm: Equatable, Sendable {
    /// The value as it is (already what Go writes, or schemaless).
    case none
    /// `goNormalized` at the node the walk is at.
    case go
    case quantity
    case quantityMap
    case quantityList
}

/// What Go writes for a field holding its zero value.
enum SSAZero: Sendable {
    case absent
    case value(JSON)
    /// A struct held by value: Go writes its (normalized) empty form.
    case emptyStruct
}

/// Which zero value of a non-pointer omitempty field Go's encoder drops.
enum SSAOmittedZero: Sendable {
    case never, emptyString, zeroNumber, falseBool, emptyList, emptyMap
}

/// A struct's fields, a column per fact, so a walk reads what it needs without copying a
/// field's strings and enums (and their reference counts) around.
final class SSAStructInfo: Sendable {
    let name: String
    let isAtomic: Bool
    let names: [String]
    /// Each field's FieldsV1 key, `f:` and its name.
    let keys: [String]
    /// Each field's place among the struct's names in upstream's (byte) order, so entries
    /// of one struct sort without comparing strings.
    let ranks: [Int]
    let nodes: [SSANode]
    /// The scalar kind of fields whose type is a scalar: walks handle those inline.
    let scalars: [SSAScalar?]
    let norms: [SSANorm]
    let zeros: [SSAZero]
    let omits: [SSAOmittedZero]
    /// Fields Go writes even when absent (their zero is not `.absent`).
    let zeroFields: [Int]
    /// `+default` values of list-map key fields.
    let keyDefaults: [String: JSON]
    private let slots: [Int32]

    init(name: String, isAtomic: Bool, names: [String], nodes: [SSANode], scalars: [SSAScalar?], norms: [SSANorm], zeros: [SSAZero],
         omits: [SSAOmittedZero], keyDefaults: [String: JSON]) {
        self.name = name
        self.isAtomic = isAtomic
        self.names = names
        keys = names.map { "f:" + $0 }
        var ranks = [Int](repeating: 0, count: names.count)
        for (rank, i) in names.indices.sorted(by: { SSAValue.compareStrings(names[$0], names[$1]) < 0 }).enumerated() { ranks[i] = rank }
        self.ranks = ranks
        self.nodes = nodes
        self.scalars = scalars
        self.norms = norms
        self.zeros = zeros
        self.omits = omits
        self.keyDefaults = keyDefaults
        zeroFields = zeros.indices.filter { if case .absent = zeros[$0] { false } else { true } }
        var size = 4
        while size < names.count * 4 { size *= 2 }
        var slots = [Int32](repeating: 0, count: size)
        for (i, name) in names.enumerated() {
            var h = Self.hash(name) & (size - 1)
            while slots[h] != 0 { h = (h + 1) & (size - 1) }
            slots[h] = Int32(i + 1)
        }
        self.slots = slots
    }

    /// The field a JSON key names. An open-addressing table with a plain multiplicative
    /// hash: looked up for every member walked, where a Dictionary's SipHash costs more.
    @inline(__always)
    func field(_ key: String) -> Int? {
        let mask = slots.count - 1
        var h = Self.hash(key) & mask
        while true {
            let slot = Int(slots[h])
            if slot == 0 { return nil }
            if names[slot - 1] == key { return slot - 1 }
            h = (h + 1) & mask
        }
    }

    @inline(__always)
    private static func hash(_ key: String) -> Int {
        var h = 0
        for byte in key.utf8 { h = h &* 31 &+ Int(byte) }
        return h ^ (h >> 7)
    }
}

/// The SSA view of one `APISchema`, built once per schema: every type's node, fields and
/// Go facts, so the walkers never look the schema up by name.
final class SSACompiledSchema: Sendable {
    let nodes: [SSANodeInfo]
    let structs: [SSAStructInfo]
    let structNodes: [String: SSANode]

    init(_ schema: APISchema) {
        var builder = Builder(schema: schema)
        builder.build()
        nodes = builder.nodes
        structs = builder.structs
        structNodes = builder.structNodes
    }

    /// Tables of schemas other than the built-in one, most recent last. A schema's `types`
    /// storage is shared by its copies and immutable while two of them exist, so an
    /// identical storage reference means the same schema; each entry keeps its schema
    /// alive, so no other schema can come to have that reference.
    private static let others = Mutex<[(APISchema, SSACompiledSchema)]>([])
    private static let builtIn = SSACompiledSchema(.builtIn)

    static func tables(for schema: APISchema) -> SSACompiledSchema {
        if sameStorage(schema.types, APISchema.builtIn.types) { return builtIn }
        if let hit = others.withLock({ list in list.last { sameStorage($0.0.types, schema.types) }?.1 }) { return hit }
        let compiled = SSACompiledSchema(schema)
        others.withLock { list in
            list.append((schema, compiled))
            if list.count > 8 { list.removeFirst() }
        }
        return compiled
    }

    /// Whether two dictionaries are one storage: their (single-reference) representations
    /// are bit for bit the same.
    private static func sameStorage(_ a: [String: APISchema.TypeDef], _ b: [String: APISchema.TypeDef]) -> Bool {
        withUnsafeBytes(of: a) { x in withUnsafeBytes(of: b) { y in x.elementsEqual(y) } }
    }

    private struct Builder {
        let schema: APISchema
        var nodes: [SSANodeInfo] = []
        var structs: [SSAStructInfo] = []
        var structNodes: [String: SSANode] = [:]
        var interned: [InternKey: SSANode] = [:]

        enum InternKey: Hashable {
            case map(Int, Bool)
            case list(Int, SSAListKind)
        }

        init(schema: APISchema) {
            self.schema = schema
        }

        mutating func build() {
            let deducedMap = SSAMapShape(fields: .none, element: .deduced, atomic: false)
            let atomicMap = SSAMapShape(fields: .none, element: .untypedAtomic, atomic: true)
            let atomicList = SSAAtom.list(element: .untypedAtomic, kind: .atomic)
            nodes = [
                SSANodeInfo(kind: .deduced, atoms: [.map(deducedMap), .scalar(.untyped), atomicList],
                            scalarAtom: 1, listAtom: 2, mapAtom: 0, normalizesToItself: true),
                SSANodeInfo(kind: .untypedAtomic, atoms: [.map(atomicMap), .scalar(.untyped), atomicList],
                            scalarAtom: 1, listAtom: 2, mapAtom: 0, normalizesToItself: true),
                SSANodeInfo(kind: .customResource, atoms: [.map(SSAMapShape(fields: .customResource, element: .deduced, atomic: false))],
                            scalarAtom: nil, listAtom: nil, mapAtom: 0, normalizesToItself: true),
            ]
            for scalar in [SSAScalar.string, .numeric, .boolean, .untyped] {
                nodes.append(SSANodeInfo(kind: .scalar(scalar), atoms: [.scalar(scalar)], scalarAtom: 0, listAtom: nil, mapAtom: nil,
                                         normalizesToItself: true))
            }
            let names = schema.types.keys.sorted()
            for (i, name) in names.enumerated() {
                structNodes[name] = SSANode(id: SSANode.firstStruct + i)
                let atomic = schema[type: name]?.isAtomic ?? false
                nodes.append(SSANodeInfo(kind: .structure(i), atoms: [.map(SSAMapShape(fields: .structType(i), element: nil, atomic: atomic))],
                                         scalarAtom: nil, listAtom: nil, mapAtom: 0, normalizesToItself: false))
            }
            for name in names {
                guard let type = schema[type: name] else { continue }
                structs.append(compile(type))
            }
        }

        mutating func compile(_ type: APISchema.TypeDef) -> SSAStructInfo {
            var nodes: [SSANode] = [], norms: [SSANorm] = [], zeros: [SSAZero] = [], omits: [SSAOmittedZero] = []
            for field in type.fields {
                nodes.append(node(for: field, in: type.name))
                zeros.append(goZero(field, owner: type))
                let norm: SSANorm = switch field.type {
                case .quantity: .quantity
                case .map(.quantity): .quantityMap
                case .array(.quantity): .quantityList
                default: .go
                }
                norms.append(norm)
                omits.append(omittedZero(field))
            }
            let scalars = nodes.map { node -> SSAScalar? in if case .scalar(let kind) = self.nodes[node.id].kind { kind } else { nil } }
            return SSAStructInfo(name: type.name, isAtomic: type.isAtomic, names: type.fields.map(\.name), nodes: nodes, scalars: scalars,
                                 norms: norms, zeros: zeros, omits: omits, keyDefaults: SSATables.keyDefaults[type.name] ?? [:])
        }

        /// Which zero value Go's encoder drops for a non-pointer omitempty field.
        func omittedZero(_ field: APISchema.Field) -> SSAOmittedZero {
            guard field.omitsEmpty, !field.isPointer else { return .never }
            switch field.type {
            case .string, .bytes: return .emptyString
            case .int32, .int64, .double: return .zeroNumber
            case .bool: return .falseBool
            case .array: return .emptyList
            case .map: return .emptyMap
            case .quantity, .intOrString, .time, .microTime, .duration, .any, .ref: return .never
            }
        }

        mutating func node(for field: APISchema.Field, in owner: String) -> SSANode {
            switch field.type {
            case .array(let element): return list(node(of: element), listKind(field))
            case .map(let element):
                return map(node(of: element), atomic: SSATables.atomicMapFields.contains(owner + "." + field.name))
            default: return node(of: field.type)
            }
        }

        mutating func node(of type: APISchema.FieldType) -> SSANode {
            switch type {
            case .string, .bytes, .duration: return .string
            case .int32, .int64, .double: return .numeric
            case .bool: return .boolean
            case .quantity, .intOrString, .time, .microTime: return .untypedScalar
            case .any: return .deduced
            case .ref(let name): return structNodes[name] ?? .deduced
            case .array(let element): return list(node(of: element), .atomic)
            case .map(let element): return map(node(of: element), atomic: false)
            }
        }

        mutating func list(_ element: SSANode, _ kind: SSAListKind) -> SSANode {
            let key = InternKey.list(element.id, kind)
            if let node = interned[key] { return node }
            let node = SSANode(id: nodes.count)
            nodes.append(SSANodeInfo(kind: .list(element, kind), atoms: [.list(element: element, kind: kind)], scalarAtom: nil,
                                     listAtom: 0, mapAtom: nil, normalizesToItself: nodes[element.id].normalizesToItself))
            interned[key] = node
            return node
        }

        mutating func map(_ element: SSANode, atomic: Bool) -> SSANode {
            let key = InternKey.map(element.id, atomic)
            if let node = interned[key] { return node }
            let node = SSANode(id: nodes.count)
            nodes.append(SSANodeInfo(kind: .map(element, atomic: atomic), atoms: [.map(SSAMapShape(fields: .none, element: element, atomic: atomic))],
                                     scalarAtom: nil, listAtom: nil, mapAtom: 0, normalizesToItself: nodes[element.id].normalizesToItself))
            interned[key] = node
            return node
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

        /// What Go writes for a field holding its zero value.
        func goZero(_ field: APISchema.Field, owner: APISchema.TypeDef) -> SSAZero {
            if isValueStruct(field, owner) { return .emptyStruct }
            if SSATables.valueTimeFields.contains(owner.name + "." + field.name) { return .value(.null) }
            guard !field.omitsEmpty else { return .absent }
            if field.isPointer { return .value(.null) }
            switch field.type {
            case .string: return .value("")
            case .duration: return .value("0s")
            case .int32, .int64, .double, .intOrString: return .value(0)
            case .bool: return .value(false)
            case .quantity: return .value("0")
            case .bytes, .time, .microTime, .any, .array, .map, .ref: return .value(.null)
            }
        }

        /// A struct Go holds by value, which its encoder writes even when empty.
        func isValueStruct(_ field: APISchema.Field, _ owner: APISchema.TypeDef) -> Bool {
            guard case .ref(let name) = field.type, !field.isPointer, schema[type: name] != nil else { return false }
            if !field.omitsEmpty { return true }
            if field.name == "metadata", name == SSATypes.objectMeta { return true }
            if owner.isObject, field.name == "spec" || field.name == "status" { return true }
            return SSATables.valueStructFields.contains(owner.name + "." + field.name)
        }
    }
}

/// Answers the type questions the SSA walkers ask, over one `APISchema`.
struct SSATypes: Sendable {
    let schema: APISchema
    let tables: SSACompiledSchema

    init(schema: APISchema) {
        self.schema = schema
        tables = SSACompiledSchema.tables(for: schema)
    }

    /// The root node for a kind: its schema type, or a custom resource when there is none.
    func root(_ type: String?) -> SSANode {
        if let type, let node = tables.structNodes[type] { return node }
        return .customResource
    }

    @inline(__always)
    func info(_ node: SSANode) -> SSANodeInfo { tables.nodes[node.id] }

    /// The struct a node is, if it is one.
    @inline(__always)
    func structInfo(_ node: SSANode) -> SSAStructInfo? {
        if case .structure(let s) = tables.nodes[node.id].kind { return tables.structs[s] }
        return nil
    }

    /// The index in `info.atoms` of the shape a value takes; nil for null, absence or a
    /// kind no shape matches (then upstream tries them all).
    @inline(__always)
    func atomIndex(_ info: SSANodeInfo, _ value: JSON?) -> Int? {
        switch value {
        case .bool?, .number?, .string?: info.scalarAtom
        case .array?: info.listAtom
        case .object?: info.mapAtom
        case .null?, nil: nil
        }
    }

    /// The shape a value takes (upstream's deduceAtom): the one matching its JSON kind,
    /// else the first.
    func atom(_ node: SSANode, for value: JSON?) -> SSAAtom? {
        let info = info(node)
        return atomIndex(info, value).map { info.atoms[$0] } ?? info.atoms.first
    }

    /// The type of a map key: the named field's, else the map's element type.
    func fieldNode(_ shape: SSAMapShape, _ key: String) -> SSANode? {
        switch shape.fields {
        case .structType(let s):
            let type = tables.structs[s]
            if let i = type.field(key) { return type.nodes[i] }
        case .customResource:
            switch key {
            case "apiVersion", "kind": return .string
            case "metadata": return tables.structNodes[Self.objectMeta] ?? .deduced
            default: break
            }
        case .none: break
        }
        return shape.element
    }

    /// `fieldNode`, and whether the key is a declared field (structs own such keys through
    /// their leaves only), in one lookup.
    func member(_ shape: SSAMapShape, _ key: String) -> (node: SSANode?, isNamed: Bool) {
        switch shape.fields {
        case .structType(let s):
            let type = tables.structs[s]
            if let i = type.field(key) { return (type.nodes[i], true) }
            return (shape.element, false)
        case .customResource:
            switch key {
            case "apiVersion", "kind": return (.string, true)
            case "metadata": return (tables.structNodes[Self.objectMeta] ?? .deduced, true)
            default: return (shape.element, false)
            }
        case .none:
            return (shape.element, false)
        }
    }

    /// The OpenAPI default of a list-map key field, used when an item omits the key.
    func keyDefault(_ element: SSANode, _ key: String) -> JSON? {
        structInfo(element)?.keyDefaults[key]
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
