import SkiffCore

/// What upstream's decode-then-encode does to values of special types: quantities come
/// back in canonical form ("0.5" -> "500m", "1024Mi" -> "1Gi"), so Skiff stores them that
/// way too. Everything else is kept exactly as sent.
public enum Canonicalization {
    /// Rewrites the quantities in `object` (of schema type `type`) canonically; a value that
    /// is not a quantity is left for `SchemaCheck` to report.
    public static func quantities(_ object: JSON, type: String, schema: APISchema) -> JSON {
        rewrite(object, .ref(type), schema)
    }

    static func rewrite(_ value: JSON, _ type: APISchema.FieldType, _ schema: APISchema) -> JSON {
        switch type {
        case .quantity:
            guard !value.isNull, let q = try? Quantity(json: value) else { return value }
            return .string(q.description)
        case .array(let element):
            guard let items = value.arrayValue, needsWalk(element, schema) else { return value }
            return .array(items.map { rewrite($0, element, schema) })
        case .map(let element):
            guard var o = value.objectValue, needsWalk(element, schema) else { return value }
            for (k, v) in o { o[k] = rewrite(v, element, schema) }
            return .object(o)
        case .ref(let name):
            guard var o = value.objectValue, let def = schema[type: name] else { return value }
            for (k, v) in o {
                if let f = def.field(k), needsWalk(f.type, schema) { o[k] = rewrite(v, f.type, schema) }
            }
            return .object(o)
        default:
            return value
        }
    }

    /// Whether a quantity can be reached from `type` (memoized per type name).
    static func needsWalk(_ type: APISchema.FieldType, _ schema: APISchema) -> Bool {
        switch type {
        case .quantity: true
        case .array(let e), .map(let e): needsWalk(e, schema)
        case .ref(let name): schema.typesReachingQuantity.contains(name)
        default: false
        }
    }
}

extension APISchema {
    func reachingQuantity() -> Set<String> {
        var reaching = Set<String>()
        func reaches(_ t: FieldType) -> Bool {
            switch t {
            case .quantity: true
            case .array(let e), .map(let e): reaches(e)
            case .ref(let n): reaching.contains(n)
            default: false
            }
        }
        var changed = true
        while changed {
            changed = false
            for (name, def) in types where !reaching.contains(name) && def.fields.contains(where: { reaches($0.type) }) {
                reaching.insert(name)
                changed = true
            }
        }
        return reaching
    }
}
