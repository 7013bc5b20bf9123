import SkiffCore

/// A value that does not fit its type, as upstream's typed.ValidationError reports it.
struct SSAValidationError: Sendable, CustomStringConvertible {
    var path: String
    var message: String

    var description: String { path.isEmpty ? message : "\(path): \(message)" }

    /// ValidationErrors.Error(): one error alone, else a list.
    static func describe(_ errors: [SSAValidationError]) -> String {
        if errors.count == 1 { return errors[0].description }
        return (["errors:"] + errors.map { "  " + $0.description }).joined(separator: "\n")
    }
}

// MARK: - Validation

extension SSATypes {
    /// Whether a value fits its type (upstream's AsTyped succeeds): an applied configuration
    /// may not repeat a list item, a stored object may. Stops at the first problem and
    /// builds no messages; `validate` says what is wrong.
    func isValid(_ value: SSAView, _ node: SSANode, allowDuplicates: Bool) -> Bool {
        let info = info(node)
        switch info.atoms[atomIndex(info, value.raw) ?? 0] {
        case .scalar(let kind):
            return Self.fits(kind, value.raw)
        case .list(let element, let kind):
            if value.raw.isNull { return true }
            guard let (items, norm) = arrayView(value, node) else { return false }
            if kind == .atomic {
                if case .scalar(let scalar) = tables.nodes[element.id].kind { return items.allSatisfy { Self.fits(scalar, $0) } }
                for item in items where !isValid(SSAView(raw: item, norm: norm), element, allowDuplicates: allowDuplicates) { return false }
                return true
            }
            var seen = SSAElementSet(capacity: allowDuplicates ? 0 : items.count)
            for item in items {
                let view = SSAView(raw: item, norm: norm)
                guard let pe = try? pathElement(view, element, kind) else { return false }
                if !allowDuplicates, !seen.insert(pe) { return false }
                if !isValid(view, element, allowDuplicates: allowDuplicates) { return false }
            }
            return true
        case .map(let shape):
            if value.raw.isNull { return true }
            switch objectView(value, node) {
            case nil:
                return false
            case .fields(let members, let type)?:
                // Go drops undeclared fields and writes zero values, which always fit.
                for (key, child) in members where !child.isNull {
                    guard let i = type.field(key), !isOmittedZero(child, type.omits[i]) else { continue }
                    if let kind = type.scalars[i] {
                        if !Self.fits(kind, child) { return false }
                    } else if !isValid(SSAView(raw: child, norm: type.norms[i]), type.nodes[i], allowDuplicates: allowDuplicates) {
                        return false
                    }
                }
                return true
            case .members(let members, let norm)?:
                // A map of scalars (labels, annotations) is checked in place.
                if shape.fields == .none, let element = shape.element, case .scalar(let kind) = tables.nodes[element.id].kind {
                    return members.values.allSatisfy { Self.fits(kind, $0) }
                }
                for (key, child) in members {
                    guard let childNode = fieldNode(shape, key),
                          isValid(SSAView(raw: child, norm: norm), childNode, allowDuplicates: allowDuplicates) else { return false }
                }
                return true
            }
        }
    }

    /// A Quantity canonicalizes only scalars (and null, to "0"), and any scalar fits an
    /// untyped one, so a view's raw value fits exactly when its Go form does.
    static func fits(_ kind: SSAScalar, _ value: JSON) -> Bool {
        switch (kind, value) {
        case (_, .null), (.numeric, .number), (.string, .string), (.boolean, .bool): return true
        case (.untyped, .number), (.untyped, .string), (.untyped, .bool): return true
        default: return false
        }
    }

    /// Checks a value against its type (upstream's AsTyped) and says what does not fit, in
    /// upstream's words; the value is taken as it is.
    func validate(_ value: JSON, _ node: SSANode, allowDuplicates: Bool) -> [SSAValidationError] {
        var errors: [SSAValidationError] = []
        validate(value, node, "", allowDuplicates, &errors)
        return errors
    }

    private func validate(_ value: JSON, _ node: SSANode, _ path: String, _ allowDuplicates: Bool, _ errors: inout [SSAValidationError]) {
        switch atom(node, for: value) {
        case .scalar(let kind)?:
            if let message = scalarError(kind, value) { errors.append(SSAValidationError(path: path, message: message)) }
        case .list(let element, let kind)?:
            validateList(value, element, kind, path, allowDuplicates, &errors)
        case .map(let shape)?:
            validateMap(value, shape, path, allowDuplicates, &errors)
        case nil:
            errors.append(SSAValidationError(path: path, message: "schema error: invalid atom"))
        }
    }

    private func validateList(_ value: JSON, _ element: SSANode, _ kind: SSAListKind, _ path: String, _ allowDuplicates: Bool, _ errors: inout [SSAValidationError]) {
        if value.isNull { return }
        guard case .array(let items) = value else {
            errors.append(SSAValidationError(path: path, message: "expected list, got \(SSAGoFormat.plain(value))"))
            return
        }
        var seen = Set<FieldPathElement>()
        for (i, item) in items.enumerated() {
            let pe: FieldPathElement
            if kind == .atomic {
                pe = .index(i)
            } else {
                do {
                    pe = try pathElement(item, element, kind)
                } catch {
                    errors.append(SSAValidationError(path: path, message: "element \(i): \(error.message)"))
                    return
                }
                if !seen.insert(pe).inserted, !allowDuplicates {
                    errors.append(SSAValidationError(path: path, message: "duplicate entries for key \(pe.description)"))
                }
            }
            validate(item, element, path + pe.description, allowDuplicates, &errors)
        }
    }

    private func validateMap(_ value: JSON, _ shape: SSAMapShape, _ path: String, _ allowDuplicates: Bool, _ errors: inout [SSAValidationError]) {
        if value.isNull { return }
        guard case .object(let members) = value else {
            errors.append(SSAValidationError(path: path, message: "expected map, got \(SSAGoFormat.plain(value))"))
            return
        }
        for (key, child) in members {
            guard let childNode = fieldNode(shape, key) else {
                // Upstream stops at the first undeclared field of a struct.
                errors.append(SSAValidationError(path: path + "." + key, message: "field not declared in schema"))
                return
            }
            validate(child, childNode, path + "." + key, allowDuplicates, &errors)
        }
    }

    private func scalarError(_ kind: SSAScalar, _ value: JSON) -> String? {
        switch (kind, value) {
        case (_, .null), (.numeric, .number), (.string, .string), (.boolean, .bool): return nil
        case (.untyped, .number), (.untyped, .string), (.untyped, .bool): return nil
        case (.numeric, _): return "expected numeric (int or float), got \(SSAGoFormat.typeName(value))"
        case (.string, _): return "expected string, got &value.valueUnstructured{Value:\(SSAGoFormat.syntax(value))}"
        case (.boolean, _): return "expected boolean, got \(SSAGoFormat.plain(value))"
        case (.untyped, _): return "expected any scalar, got \(SSAGoFormat.plain(value))"
        }
    }
}

/// Path elements seen among a list's items: a scan while few, hashed beyond.
struct SSAElementSet {
    private var small: [FieldPathElement] = []
    private var large: Set<FieldPathElement>?

    init(capacity: Int) {
        if capacity > 16 { large = Set(minimumCapacity: capacity) } else { small.reserveCapacity(capacity) }
    }

    /// Adds an element; false when it was already there.
    mutating func insert(_ pe: FieldPathElement) -> Bool {
        if large != nil { return large?.insert(pe).inserted ?? false }
        if small.contains(pe) { return false }
        small.append(pe)
        return true
    }

    func contains(_ pe: FieldPathElement) -> Bool {
        large?.contains(pe) ?? small.contains(pe)
    }
}

/// Values by a list item's path element: a scan while few, hashed beyond. Lists are short,
/// and hashing an element (its key fields' names and values) costs more than a few compares.
struct SSAElementMap<Value> {
    private var keys: [FieldPathElement] = []
    private var values: [Value] = []
    private var large: [FieldPathElement: Value]?

    init(capacity: Int) {
        if capacity > 16 { large = Dictionary(minimumCapacity: capacity) }
    }

    subscript(_ pe: FieldPathElement) -> Value? {
        get {
            if let large { return large[pe] }
            return keys.firstIndex(of: pe).map { values[$0] }
        }
        set {
            if large != nil {
                large?[pe] = newValue
                return
            }
            if let i = keys.firstIndex(of: pe) {
                if let newValue { values[i] = newValue } else { keys.remove(at: i); values.remove(at: i) }
            } else if let newValue {
                keys.append(pe)
                values.append(newValue)
            }
        }
    }
}

/// How Go's fmt prints the unstructured values in upstream's validation messages.
enum SSAGoFormat {
    /// `%T`.
    static func typeName(_ value: JSON) -> String {
        switch value {
        case .null: "<nil>"
        case .bool: "bool"
        case .number(let n): n.isInteger ? "int64" : "float64"
        case .string: "string"
        case .array: "[]interface {}"
        case .object: "map[string]interface {}"
        }
    }

    /// `%v` of a value.Value: the pointer to its struct, `&{...}`.
    static func plain(_ value: JSON) -> String { "&{\(bare(value))}" }

    private static func bare(_ value: JSON) -> String {
        switch value {
        case .null: "<nil>"
        case .bool(let b): b ? "true" : "false"
        case .number(let n): SSAValue.canonicalNumber(n).text
        case .string(let s): s
        case .array(let items): "[" + items.map(bare).joined(separator: " ") + "]"
        case .object(let members):
            "map[" + members.keys.sorted().map { "\($0):\(bare(members[$0] ?? .null))" }.joined(separator: " ") + "]"
        }
    }

    /// `%#v` of an unstructured value.
    static func syntax(_ value: JSON) -> String {
        switch value {
        case .null: "interface {}(nil)"
        case .bool(let b): b ? "true" : "false"
        case .number(let n): SSAValue.canonicalNumber(n).text
        case .string(let s): goQuote(s)
        case .array(let items): "[]interface {}{" + items.map(syntax).joined(separator: ", ") + "}"
        case .object(let members):
            "map[string]interface {}{" + members.keys.sorted().map { "\(goQuote($0)):\(syntax(members[$0] ?? .null))" }.joined(separator: ", ") + "}"
        }
    }
}

// MARK: - Go round trip

/// One side of a walk: a value and how it reaches the form upstream compares, what Go
/// writes after decoding it into the typed struct (`goNormalized`). Walkers apply that
/// node by node as they descend, so they never copy an object and can stop at subtrees
/// equal on both sides.
struct SSAView {
    var raw: JSON
    var norm: SSANorm
}

/// The members of a view's object: a struct's as Go writes them (undeclared fields
/// dropped, zero values in), or a map's, each member normalized by `norm`.
enum SSAObjectView {
    case fields(JSONObject, SSAStructInfo)
    case members(JSONObject, SSANorm)
}

extension SSATypes {
    /// The object members of a view's value at `node`; nil when it is not an object.
    func objectView(_ value: SSAView, _ node: SSANode) -> SSAObjectView? {
        guard case .object(let members) = value.raw else { return nil }
        switch value.norm {
        case .go:
            let info = info(node)
            switch info.kind {
            case .structure(let s): return .fields(members, tables.structs[s])
            case .map: return .members(members, info.normalizesToItself ? .none : .go)
            default: return .members(members, .none)
            }
        case .quantityMap: return .members(members, .quantity)
        case .none, .quantity, .quantityList: return .members(members, .none)
        }
    }

    /// The items of a view's value at `node` and how each is normalized; nil when it is
    /// not a list.
    func arrayView(_ value: SSAView, _ node: SSANode) -> ([JSON], SSANorm)? {
        guard case .array(let items) = value.raw else { return nil }
        switch value.norm {
        case .go:
            let info = info(node)
            if case .list = info.kind, !info.normalizesToItself { return (items, .go) }
            return (items, .none)
        case .quantityList: return (items, .quantity)
        case .none, .quantity, .quantityMap: return (items, .none)
        }
    }

    /// Whether the object Go writes has no members.
    func isEmpty(_ object: SSAObjectView?) -> Bool {
        switch object {
        case nil: return true
        case .members(let members, _)?: return members.isEmpty
        case .fields(let members, let type)?:
            guard type.zeroFields.isEmpty else { return false }
            for (key, child) in members where !child.isNull {
                if let i = type.field(key), !isOmittedZero(child, type.omits[i]) { return false }
            }
            return true
        }
    }

    /// One member of a view's object, as Go writes it; nil when it has none.
    func member(_ object: SSAObjectView?, _ key: String) -> SSAView? {
        switch object {
        case nil: return nil
        case .members(let members, let norm)?: return members[key].map { SSAView(raw: $0, norm: norm) }
        case .fields(let members, let type)?:
            guard let i = type.field(key) else { return nil }
            return structMember(members[key], type, i)
        }
    }

    /// Calls `body` with each member of a view's object as Go writes it, and its type
    /// (nil for a key a struct does not declare, which only an as-is struct can have); a
    /// struct's are its declared fields the object sets, then those Go writes although absent.
    func forEachMember(_ object: SSAObjectView?, _ shape: SSAMapShape, _ body: (String, SSAView, SSANode?) -> Void) {
        forEachMember(object, shape) { key, view, node, _ in body(key, view, node) }
    }

    /// As `forEachMember`, also passing a declared field's FieldsV1 key, which is kept.
    func forEachMember(_ object: SSAObjectView?, _ shape: SSAMapShape, _ body: (String, SSAView, SSANode?, String?) -> Void) {
        switch object {
        case nil: return
        case .members(let members, let norm)?:
            for (key, child) in members { body(key, SSAView(raw: child, norm: norm), fieldNode(shape, key), nil) }
        case .fields(let members, let type)?:
            for (key, child) in members {
                guard let i = type.field(key), let view = structMember(child, type, i) else { continue }
                body(key, view, type.nodes[i], type.keys[i])
            }
            for i in type.zeroFields where members[type.names[i]] == nil {
                if let view = structMember(nil, type, i) { body(type.names[i], view, type.nodes[i], type.keys[i]) }
            }
        }
    }

    /// Field `i` of a struct as Go writes it: nil when it leaves it out. Absent and null
    /// both decode to the zero value.
    func structMember(_ value: JSON?, _ type: SSAStructInfo, _ i: Int) -> SSAView? {
        if let value, !value.isNull {
            return isOmittedZero(value, type.omits[i]) ? nil : SSAView(raw: value, norm: type.norms[i])
        }
        switch type.zeros[i] {
        case .absent: return nil
        case .value(let zero): return SSAView(raw: zero, norm: .none)
        case .emptyStruct: return SSAView(raw: .object(JSONObject()), norm: .go)
        }
    }

    /// The value a view stands for, built.
    func materialize(_ value: SSAView, _ node: SSANode) -> JSON {
        switch value.norm {
        case .none: return value.raw
        case .go: return goNormalized(value.raw, node)
        case .quantity, .quantityMap, .quantityList: return goQuantities(value.raw, value.norm)
        }
    }

    /// The object as upstream's field manager sees a stored or decoded one: what Go writes
    /// after decoding it into the typed struct. Zero values of omitempty fields vanish,
    /// value structs and non-omitempty fields appear, unknown fields are dropped. Both
    /// sides of a comparison get this view, so a client resending `paused: false` or
    /// `creationTimestamp: null` owns nothing it did not change. Schemaless values pass.
    func goNormalized(_ value: JSON, _ node: SSANode) -> JSON {
        let info = info(node)
        if info.normalizesToItself { return value }
        switch (info.kind, value) {
        case (.structure(let s), .object(let members)):
            return .object(goStruct(members, tables.structs[s]))
        case (.list(let element, _), .array(let items)):
            return .array(items.map { goNormalized($0, element) })
        case (.map(let element, _), .object(let members)):
            return .object(JSONObject(members.map { ($0.0, goNormalized($0.1, element)) }))
        default:
            return value
        }
    }

    /// `materialize(value, node)` up to the order of objects' keys when `isValid(value, node,
    /// allowDuplicates: true)`, else nil: a live object's Go form and its check in one walk,
    /// for uses that compare it as a set. Objects and lists whose members all stay as they
    /// are are reused rather than copied.
    func checkedNormalized(_ value: SSAView, _ node: SSANode) -> JSON? {
        let info = info(node)
        switch info.atoms[atomIndex(info, value.raw) ?? 0] {
        case .scalar(let kind):
            // Not a ternary: a bare nil there would be the JSON null literal.
            guard Self.fits(kind, value.raw) else { return nil }
            return materialize(value, node)
        case .list(let element, let kind):
            if value.raw.isNull { return materialize(value, node) }
            guard let (items, norm) = arrayView(value, node) else { return nil }
            var out: [JSON] = []
            out.reserveCapacity(items.count)
            var unchanged = true
            for item in items {
                let view = SSAView(raw: item, norm: norm)
                if kind != .atomic, (try? pathElement(view, element, kind)) == nil { return nil }
                guard let checked = checkedNormalized(view, element) else { return nil }
                if unchanged, !SSAValue.sameStorage(checked, item) { unchanged = false }
                out.append(checked)
            }
            return unchanged ? value.raw : .array(out)
        case .map(let shape):
            if value.raw.isNull { return materialize(value, node) }
            switch objectView(value, node) {
            case nil:
                return nil
            case .members(let members, let norm)?:
                var pairs: [(String, JSON)] = []
                pairs.reserveCapacity(members.count)
                var unchanged = true
                for (key, child) in members {
                    guard let childNode = fieldNode(shape, key),
                          let checked = checkedNormalized(SSAView(raw: child, norm: norm), childNode) else { return nil }
                    if unchanged, !SSAValue.sameStorage(checked, child) { unchanged = false }
                    pairs.append((key, checked))
                }
                return unchanged ? value.raw : .object(SSAValue.object(pairs))
            case .fields(let members, let type)?:
                var picked: [(Int, JSON)] = []
                picked.reserveCapacity(members.count + type.zeroFields.count)
                // Unchanged while every member stays as it is.
                var unchanged = true
                for (key, child) in members {
                    guard let i = type.field(key), let view = structMember(child, type, i) else {
                        unchanged = false
                        continue
                    }
                    guard let checked = view.norm == .none ? view.raw : checkedNormalized(view, type.nodes[i]) else { return nil }
                    if unchanged, child.isNull || !SSAValue.sameStorage(checked, child) { unchanged = false }
                    picked.append((i, checked))
                }
                for i in type.zeroFields where members[type.names[i]] == nil {
                    if let view = structMember(nil, type, i) {
                        unchanged = false
                        picked.append((i, materialize(view, type.nodes[i])))
                    }
                }
                if unchanged { return value.raw }
                picked.sort { $0.0 < $1.0 }
                return .object(SSAValue.object(picked.map { (type.names[$0.0], $0.1) }))
            }
        }
    }

    /// A struct's members in its field order, as Go writes them.
    private func goStruct(_ members: JSONObject, _ type: SSAStructInfo) -> JSONObject {
        var picked: [(Int, JSON)] = []
        picked.reserveCapacity(members.count + type.zeroFields.count)
        for (key, child) in members {
            guard let i = type.field(key), let view = structMember(child, type, i) else { continue }
            picked.append((i, materialize(view, type.nodes[i])))
        }
        for i in type.zeroFields where members[type.names[i]] == nil {
            if let view = structMember(nil, type, i) { picked.append((i, materialize(view, type.nodes[i]))) }
        }
        picked.sort { $0.0 < $1.0 }
        return SSAValue.object(picked.map { (type.names[$0.0], $0.1) })
    }

    /// Quantities in the canonical form Go writes ("2048Mi" is "2Gi").
    private func goQuantities(_ value: JSON, _ norm: SSANorm) -> JSON {
        switch (norm, value) {
        case (.quantity, _):
            return (try? Quantity(json: value)).map { .string($0.description) } ?? value
        case (.quantityMap, .object(let members)):
            return .object(JSONObject(members.map { ($0.0, goQuantities($0.1, .quantity)) }))
        case (.quantityList, .array(let items)):
            return .array(items.map { goQuantities($0, .quantity) })
        default:
            return value
        }
    }

    /// A non-pointer omitempty field holding a zero value, which Go's encoder drops.
    @inline(__always)
    func isOmittedZero(_ value: JSON, _ rule: SSAOmittedZero) -> Bool {
        switch (rule, value) {
        case (.never, _): return false
        case (.emptyString, .string(let s)): return s.isEmpty
        case (.zeroNumber, .number(let n)): return Self.isZero(n)
        case (.falseBool, .bool(let b)): return !b
        case (.emptyList, .array(let items)): return items.isEmpty
        case (.emptyMap, .object(let members)): return members.isEmpty
        default: return false
        }
    }

    /// Whether a number's value is zero; plain integers are read without parsing a Double.
    private static func isZero(_ n: JSONNumber) -> Bool {
        var digits = 0, zeros = 0
        for (i, byte) in n.text.utf8.enumerated() {
            if i == 0, byte == UInt8(ascii: "-") { continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return n.double == 0 }
            digits += 1
            if byte == UInt8(ascii: "0") { zeros += 1 }
        }
        return digits > 0 ? zeros == digits : n.double == 0
    }
}
