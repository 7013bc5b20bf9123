import SkiffCore

/// The schema of the built-in API types: every field of every type with its JSON type,
/// protobuf tag and patch strategy. One description serves strict field validation,
/// strategic merge patch, the Protobuf decoder, OpenAPI and `kubectl explain`.
///
/// The types are written in a small line-based language (files under Schema/), because a
/// few thousand fields as Swift literals would slow the compiler to a crawl:
///
///     package apps/v1                      # bare type names below live in apps/v1
///     type Deployment object               # `object`: a top-level kind (adds apiVersion, kind)
///       metadata meta/v1.ObjectMeta 1      # <jsonName> <type> <protoTag|-> [flags]
///       spec DeploymentSpec 2 required
///     type LabelSelector atomic            # `atomic`: replaced as a whole by apply
///
/// Types: string int32 int64 bool double bytes Quantity IntOrString Time MicroTime Duration
/// any, a type name (bare or `pkg/version.Name`), `[]T`, `map[string]T`.
/// Field flags: `required`; `merge=KEY` (patchStrategy merge, patchMergeKey KEY); `merge`
/// (merge a primitive list as a set); `retainKeys`; `replace`; `atomic`, `set`,
/// `map=K1,K2` (x-kubernetes-list-type and list-map-keys).
/// Go facts the Protobuf decoder needs to write the JSON Go would (copy them from types.go):
/// `noomit`: the json tag has no omitempty, so a zero value is written (nil slices, maps
/// and pointers as null); `ptr`: a Go pointer, so a value present on the wire is kept even
/// when zero (needed on scalars, and on `noomit` fields, which are null when absent).
/// `inline`: a Go struct embedded with `json:",inline"`; its fields appear in JSON as the
/// parent's own, while protobuf nests them in a message at the given tag:
///
///       handler ProbeHandler 1 inline      # Probe's exec, httpGet, ... are in ProbeHandler
public struct APISchema: Sendable {
    public indirect enum FieldType: Sendable, Equatable {
        case string, int32, int64, bool, double, bytes
        case quantity, intOrString, time, microTime, duration, any
        case ref(String)
        case array(FieldType)
        case map(FieldType)
    }

    public struct Field: Sendable {
        public var name: String
        public var type: FieldType
        /// Protobuf field number; nil where the field is not in the protobuf message.
        public var tag: Int?
        public var required = false
        public var patchMergeKey: String?
        /// patchStrategy: "merge", "retainKeys", "replace" (several may apply).
        public var patchStrategies: Set<String> = []
        public var listType: String?
        public var listMapKeys: [String] = []
        /// The Go field is a pointer (`ptr`).
        public var isPointer = false
        /// The Go json tag has omitempty (false for `noomit`).
        public var omitsEmpty = true
        /// An embedded struct whose fields JSON promotes into the parent (`inline`).
        public var isInline = false
    }

    public struct TypeDef: Sendable {
        public var name: String
        /// The fields as JSON shows them: those of `inline` fields are promoted in place of
        /// the inline field (with no tag, as they are not fields of this message).
        public internal(set) var fields: [Field] = []
        /// The fields as declared, `inline` ones unexpanded: the protobuf message.
        public internal(set) var declaredFields: [Field]
        public var isObject = false
        public var isAtomic = false
        var index: [String: Int] = [:]
        var tagIndex: [Int: Int] = [:]
        /// Per declared field: whether it shows in JSON even when absent from the wire
        /// (`noomit` or `inline`), so the Protobuf decoder can skip the others quickly.
        var showsWhenAbsent: [Bool] = []

        init(name: String, fields: [Field]) {
            self.name = name
            self.declaredFields = fields
        }

        /// A JSON-visible field, also one promoted from an `inline` field.
        public func field(_ name: String) -> Field? { index[name].map { fields[$0] } }

        /// The declared field with this protobuf tag.
        public func field(tag: Int) -> Field? { tagIndex[tag].map { declaredFields[$0] } }
    }

    public private(set) var types: [String: TypeDef] = [:]
    /// Types from which some field leads to a Quantity (canonicalization walks only these).
    public private(set) var typesReachingQuantity: Set<String> = []

    public subscript(type name: String) -> TypeDef? { types[name] }

    public init(sources: [String]) throws(SchemaError) {
        for source in sources { try parse(source) }
        for t in types.values {
            if t.isObject, types[t.name + "List"] == nil {
                var list = TypeDef(name: t.name + "List", fields: [
                    Field(name: "apiVersion", type: .string),
                    Field(name: "kind", type: .string),
                    Field(name: "metadata", type: .ref("meta/v1.ListMeta"), tag: 1),
                    Field(name: "items", type: .array(.ref(t.name)), tag: 2, required: true, omitsEmpty: false),
                ])
                list.reindex()
                types[list.name] = list
            }
        }
        try checkReferences()
        try expandInlineFields()
        typesReachingQuantity = reachingQuantity()
    }

    public struct SchemaError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    mutating func parse(_ source: String) throws(SchemaError) {
        var package = ""
        var current: TypeDef?
        func finish() {
            if let t = current { types[t.name] = t }
            current = nil
        }
        for (n, raw) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = words.first else { continue }
            let isIndented = line.first == " " || line.first == "\t"
            func fail(_ why: String) -> SchemaError { SchemaError(description: "schema line \(n + 1) (\(package)): \(why): \(raw)") }
            if !isIndented {
                finish()
                switch first {
                case "package":
                    guard words.count == 2 else { throw fail("package takes one name") }
                    package = words[1]
                case "type":
                    guard words.count >= 2, !package.isEmpty else { throw fail("type needs a name inside a package") }
                    var t = TypeDef(name: "\(package).\(words[1])", fields: [])
                    for flag in words.dropFirst(2) {
                        switch flag {
                        case "object":
                            t.isObject = true
                            t.declaredFields.append(Field(name: "apiVersion", type: .string))
                            t.declaredFields.append(Field(name: "kind", type: .string))
                        case "atomic": t.isAtomic = true
                        default: throw fail("unknown type flag \(flag)")
                        }
                    }
                    guard types[t.name] == nil else { throw fail("type defined twice") }
                    current = t
                default: throw fail("expected package or type")
                }
                continue
            }
            guard current != nil else { throw fail("field outside a type") }
            guard words.count >= 3 else { throw fail("a field needs a name, a type and a tag") }
            var field = Field(name: words[0], type: try Self.parseType(words[1], package: package).get(orThrow: fail("bad type")))
            if words[2] != "-" {
                guard let tag = Int(words[2]), tag > 0 else { throw fail("bad protobuf tag") }
                field.tag = tag
            }
            for flag in words.dropFirst(3) {
                if flag == "required" {
                    field.required = true
                } else if flag == "merge" {
                    field.patchStrategies.insert("merge")
                } else if flag.hasPrefix("merge=") {
                    field.patchStrategies.insert("merge")
                    field.patchMergeKey = String(flag.dropFirst(6))
                } else if flag == "retainKeys" || flag == "replace" {
                    field.patchStrategies.insert(flag)
                } else if flag == "atomic" || flag == "set" {
                    field.listType = flag
                } else if flag.hasPrefix("map=") {
                    field.listType = "map"
                    field.listMapKeys = flag.dropFirst(4).split(separator: ",").map(String.init)
                } else if flag == "ptr" {
                    field.isPointer = true
                } else if flag == "noomit" {
                    field.omitsEmpty = false
                } else if flag == "inline" {
                    guard case .ref = field.type, field.tag != nil else { throw fail("an inline field needs a type name and a tag") }
                    field.isInline = true
                } else {
                    throw fail("unknown field flag \(flag)")
                }
            }
            if current!.declaredFields.contains(where: { $0.name == field.name }) { throw fail("field defined twice") }
            current!.declaredFields.append(field)
        }
        finish()
    }

    static func parseType(_ text: String, package: String) -> FieldType? {
        if text.hasPrefix("[]") { return parseType(String(text.dropFirst(2)), package: package).map { .array($0) } }
        if text.hasPrefix("map[string]") {
            return parseType(String(text.dropFirst("map[string]".count)), package: package).map { .map($0) }
        }
        switch text {
        case "string": return .string
        case "int32": return .int32
        case "int64": return .int64
        case "bool": return .bool
        case "double": return .double
        case "bytes": return .bytes
        case "Quantity": return .quantity
        case "IntOrString": return .intOrString
        case "Time": return .time
        case "MicroTime": return .microTime
        case "Duration": return .duration
        case "any": return .any
        default:
            guard let first = text.first, first.isLetter else { return nil }
            return .ref(text.contains(".") ? text : "\(package).\(text)")
        }
    }

    func checkReferences() throws(SchemaError) {
        func check(_ t: FieldType, in owner: String, _ field: String) throws(SchemaError) {
            switch t {
            case .ref(let name):
                if types[name] == nil { throw SchemaError(description: "\(owner).\(field) refers to unknown type \(name)") }
            case .array(let e), .map(let e): try check(e, in: owner, field)
            default: break
            }
        }
        for t in types.values {
            for f in t.declaredFields { try check(f.type, in: t.name, f.name) }
        }
    }

    /// Fills every type's JSON-visible `fields`, promoting the fields of `inline` ones.
    mutating func expandInlineFields() throws(SchemaError) {
        for name in types.keys.sorted() {
            guard var t = types[name] else { continue }
            t.fields = try jsonFields(of: t, depth: 0)
            var seen = Set<String>()
            for f in t.fields where !seen.insert(f.name).inserted {
                throw SchemaError(description: "\(name): JSON field \(f.name) appears twice (through an inline field)")
            }
            var tags = Set<Int>()
            for f in t.declaredFields {
                if let tag = f.tag, !tags.insert(tag).inserted { throw SchemaError(description: "\(name): protobuf tag \(tag) used twice") }
            }
            t.reindex()
            types[name] = t
        }
    }

    private func jsonFields(of t: TypeDef, depth: Int) throws(SchemaError) -> [Field] {
        guard depth < 8 else { throw SchemaError(description: "\(t.name): inline fields nest too deep (a cycle?)") }
        var out: [Field] = []
        for f in t.declaredFields {
            guard f.isInline, case .ref(let inner) = f.type, let innerType = types[inner] else {
                out.append(f)
                continue
            }
            for var promoted in try jsonFields(of: innerType, depth: depth + 1) {
                promoted.tag = nil
                out.append(promoted)
            }
        }
        return out
    }
}

extension APISchema.TypeDef {
    mutating func reindex() {
        index = [:]
        for (i, f) in fields.enumerated() { index[f.name] = i }
        tagIndex = [:]
        for (i, f) in declaredFields.enumerated() {
            if let tag = f.tag { tagIndex[tag] = i }
        }
        showsWhenAbsent = declaredFields.map { $0.tag != nil && ($0.isInline || !$0.omitsEmpty) }
    }
}

extension Optional {
    func get<E: Error>(orThrow error: @autoclosure () -> E) throws(E) -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}
