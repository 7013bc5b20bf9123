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
    /// Checks a value against its type (upstream's AsTyped): an applied configuration may
    /// not repeat a list item, a stored object may.
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
        case .string(let s): SSAValue.goQuote(s)
        case .array(let items): "[]interface {}{" + items.map(syntax).joined(separator: ", ") + "}"
        case .object(let members):
            "map[string]interface {}{" + members.keys.sorted().map { "\(SSAValue.goQuote($0)):\(syntax(members[$0] ?? .null))" }.joined(separator: ", ") + "}"
        }
    }
}

// MARK: - Go round trip

extension SSATypes {
    /// The object as upstream's field manager sees a stored or decoded one: what Go writes
    /// after decoding it into the typed struct. Zero values of omitempty fields vanish,
    /// value structs and non-omitempty fields appear, unknown fields are dropped. Both
    /// sides of a comparison get this view, so a client resending `paused: false` or
    /// `creationTimestamp: null` owns nothing it did not change. Schemaless values pass.
    func goNormalized(_ value: JSON, _ node: SSANode) -> JSON {
        switch (node, value) {
        case (.structure(let name), .object(let members)):
            guard let type = schema[type: name] else { return value }
            return .object(goStruct(members, type))
        case (.list(let element, _), .array(let items)):
            return .array(items.map { goNormalized($0, element) })
        case (.map(let element, _), .object(let members)):
            return .object(JSONObject(members.map { ($0.0, goNormalized($0.1, element)) }))
        default:
            return value
        }
    }

    private func goStruct(_ members: JSONObject, _ type: APISchema.TypeDef) -> JSONObject {
        var out = JSONObject()
        for field in type.fields {
            let fieldNode = node(for: field, in: type.name)
            let value: JSON?
            if let present = members[field.name], !present.isNull {
                // Not a ternary: a bare nil there would be the JSON null literal.
                if isOmittedZero(present, field) {
                    value = .none
                } else {
                    value = goQuantities(goNormalized(present, fieldNode), field.type)
                }
            } else {
                // Absent and null both decode to the zero value.
                value = goZero(field, fieldNode, owner: type)
            }
            if let value { out[field.name] = value }
        }
        return out
    }

    /// What Go writes for a field holding its zero value; nil when it leaves it out.
    private func goZero(_ field: APISchema.Field, _ fieldNode: SSANode, owner: APISchema.TypeDef) -> JSON? {
        if isValueStruct(field, owner) { return goNormalized(.object(JSONObject()), fieldNode) }
        if SSATables.valueTimeFields.contains(owner.name + "." + field.name) { return .null }
        guard !field.omitsEmpty else { return nil }
        if field.isPointer { return .null }
        switch field.type {
        case .string: return ""
        case .duration: return "0s"
        case .int32, .int64, .double, .intOrString: return 0
        case .bool: return false
        case .quantity: return "0"
        case .bytes, .time, .microTime, .any, .array, .map, .ref: return .null
        }
    }

    /// Quantities in the canonical form Go writes ("2048Mi" is "2Gi").
    private func goQuantities(_ value: JSON, _ type: APISchema.FieldType) -> JSON {
        switch (type, value) {
        case (.quantity, _):
            return (try? Quantity(json: value)).map { .string($0.description) } ?? value
        case (.map(.quantity), .object(let members)):
            return .object(JSONObject(members.map { ($0.0, goQuantities($0.1, .quantity)) }))
        case (.array(.quantity), .array(let items)):
            return .array(items.map { goQuantities($0, .quantity) })
        default:
            return value
        }
    }

    /// A struct Go holds by value, which its encoder writes even when empty.
    private func isValueStruct(_ field: APISchema.Field, _ owner: APISchema.TypeDef) -> Bool {
        guard case .ref(let name) = field.type, !field.isPointer, schema[type: name] != nil else { return false }
        if !field.omitsEmpty { return true }
        if field.name == "metadata", name == Self.objectMeta { return true }
        if owner.isObject, field.name == "spec" || field.name == "status" { return true }
        return SSATables.valueStructFields.contains(owner.name + "." + field.name)
    }

    /// A non-pointer omitempty field holding a zero value, which Go's encoder drops.
    private func isOmittedZero(_ value: JSON, _ field: APISchema.Field) -> Bool {
        guard field.omitsEmpty, !field.isPointer else { return false }
        switch (field.type, value) {
        case (.string, .string(let s)), (.bytes, .string(let s)): return s.isEmpty
        case (.int32, .number(let n)), (.int64, .number(let n)), (.double, .number(let n)): return n.double == 0
        case (.bool, .bool(let b)): return !b
        case (.array, .array(let items)): return items.isEmpty
        case (.map, .object(let members)): return members.isEmpty
        default: return false
        }
    }
}
