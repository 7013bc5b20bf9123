import SkiffCore

/// Checks an object against the schema the way upstream's decoder does: fields the
/// schema does not know (reported per `fieldValidation`), values of the wrong JSON type
/// (a decode error, 400) and missing required fields (422).
public struct SchemaCheck: Sendable {
    public var unknownFields: [String] = []
    public var typeErrors: [String] = []
    public var missingRequired: [String] = []

    public init(_ object: JSON, type: String, schema: APISchema) {
        walk(object, .ref(type), schema: schema, owner: type)
    }

    /// Where the walk is; turned into a path string only when something is reported, so
    /// a valid object costs no string building.
    private enum Step {
        case field(String), index(Int), key(String)
    }

    private var steps: [Step] = []

    private var path: String {
        var out = ""
        for step in steps {
            switch step {
            case .field(let name): out += out.isEmpty ? name : "." + name
            case .index(let i): out += "[\(i)]"
            case .key(let k): out += "[\(k)]"
            }
        }
        return out
    }

    private mutating func walk(_ value: JSON, _ type: APISchema.FieldType, schema: APISchema, owner: String) {
        if value.isNull { return }
        switch type {
        case .string, .bytes, .duration, .time, .microTime:
            if value.stringValue == nil { typeError(value, "string", owner) }
        case .quantity:
            do {
                _ = try Quantity(json: value)
            } catch {
                typeErrors.append("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
            }
        case .int32, .int64:
            guard case .number(let n) = value, n.int64 != nil else { return typeError(value, type == .int32 ? "int32" : "int64", owner) }
        case .double:
            if value.doubleValue == nil { typeError(value, "float64", owner) }
        case .bool:
            if value.boolValue == nil { typeError(value, "bool", owner) }
        case .intOrString:
            if value.stringValue == nil, value.int64Value == nil { typeError(value, "intstr.IntOrString", owner) }
        case .any:
            return
        case .array(let element):
            guard let items = value.arrayValue else { return typeError(value, "array", owner) }
            for (i, item) in items.enumerated() {
                steps.append(.index(i))
                walk(item, element, schema: schema, owner: owner)
                steps.removeLast()
            }
        case .map(let element):
            guard let o = value.objectValue else { return typeError(value, "map", owner) }
            for (k, v) in o {
                steps.append(.key(k))
                walk(v, element, schema: schema, owner: owner)
                steps.removeLast()
            }
        case .ref(let name):
            guard let def = schema[type: name] else { return }
            guard let o = value.objectValue else { return typeError(value, "object", name) }
            for (key, v) in o {
                steps.append(.field(key))
                if let field = def.field(key) {
                    walk(v, field.type, schema: schema, owner: name)
                } else {
                    unknownFields.append(path)
                }
                steps.removeLast()
            }
            for field in def.fields where field.required && o[field.name] == nil {
                steps.append(.field(field.name))
                missingRequired.append(path)
                steps.removeLast()
            }
        }
    }

    private mutating func typeError(_ value: JSON, _ expected: String, _ owner: String) {
        let structName = owner.split(separator: ".").last.map(String.init) ?? owner
        typeErrors.append("json: cannot unmarshal \(value.typeName) into Go struct field \(structName).\(path) of type \(expected)")
    }
}
