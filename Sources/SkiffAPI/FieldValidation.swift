import SkiffCore

/// Checks an object against the schema the way upstream's decoder does: fields the
/// schema does not know (reported per `fieldValidation`), values of the wrong JSON type
/// (a decode error, 400) and missing required fields (422).
public struct SchemaCheck: Sendable {
    public var unknownFields: [String] = []
    public var typeErrors: [String] = []
    public var missingRequired: [String] = []

    public init(_ object: JSON, type: String, schema: APISchema) {
        walk(object, .ref(type), path: "", schema: schema, owner: type)
    }

    private mutating func walk(_ value: JSON, _ type: APISchema.FieldType, path: String, schema: APISchema, owner: String) {
        if value.isNull { return }
        switch type {
        case .string, .bytes, .duration, .time, .microTime:
            if value.stringValue == nil { typeError(value, "string", path, owner) }
        case .quantity:
            do {
                _ = try Quantity(json: value)
            } catch {
                typeErrors.append("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
            }
        case .int32, .int64:
            guard case .number(let n) = value, n.int64 != nil else { return typeError(value, type == .int32 ? "int32" : "int64", path, owner) }
        case .double:
            if value.doubleValue == nil { typeError(value, "float64", path, owner) }
        case .bool:
            if value.boolValue == nil { typeError(value, "bool", path, owner) }
        case .intOrString:
            if value.stringValue == nil, value.int64Value == nil { typeError(value, "intstr.IntOrString", path, owner) }
        case .any:
            return
        case .array(let element):
            guard let items = value.arrayValue else { return typeError(value, "array", path, owner) }
            for (i, item) in items.enumerated() {
                walk(item, element, path: "\(path)[\(i)]", schema: schema, owner: owner)
            }
        case .map(let element):
            guard let o = value.objectValue else { return typeError(value, "map", path, owner) }
            for (k, v) in o { walk(v, element, path: "\(path)[\(k)]", schema: schema, owner: owner) }
        case .ref(let name):
            guard let def = schema[type: name] else { return }
            guard let o = value.objectValue else { return typeError(value, "object", path, name) }
            for (key, v) in o {
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                guard let field = def.field(key) else {
                    unknownFields.append(childPath)
                    continue
                }
                walk(v, field.type, path: childPath, schema: schema, owner: name)
            }
            for field in def.fields where field.required && o[field.name] == nil {
                missingRequired.append(path.isEmpty ? field.name : "\(path).\(field.name)")
            }
        }
    }

    private mutating func typeError(_ value: JSON, _ expected: String, _ path: String, _ owner: String) {
        let structName = owner.split(separator: ".").last.map(String.init) ?? owner
        typeErrors.append("json: cannot unmarshal \(value.typeName) into Go struct field \(structName).\(path) of type \(expected)")
    }
}
