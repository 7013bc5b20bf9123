import SkiffCore

/// Encodes a Swagger 2.0 JSON document as gnostic's `openapi.v2.Document` protobuf, the
/// only `/openapi/v2` form kubectl 1.27 and 1.28 read. Covers the subset the builder
/// emits: info, paths with operations, inline parameters, responses, definitions and
/// schemas; `x-` keys become vendor extensions whose values are YAML text.
enum SwaggerProtobuf {
    static func encode(_ document: JSON) -> [UInt8] {
        var w = ProtobufWriter()
        w.string(1, document["swagger"]?.stringValue)
        if let info = document["info"] { w.message(2, Self.info(info)) }
        w.strings(6, document["consumes"])
        w.strings(7, document["produces"])
        if let paths = document["paths"] { w.message(8, Self.paths(paths)) }
        if let definitions = document["definitions"] {
            w.message(9, namedList(1, definitions, Self.schema))
        }
        extensions(16, document, into: &w)
        return w.bytes
    }

    static func info(_ json: JSON) -> [UInt8] {
        var w = ProtobufWriter()
        w.string(1, json["title"]?.stringValue)
        w.string(2, json["version"]?.stringValue)
        w.string(3, json["description"]?.stringValue)
        extensions(7, json, into: &w)
        return w.bytes
    }

    static func paths(_ json: JSON) -> [UInt8] {
        var w = ProtobufWriter()
        extensions(1, json, into: &w)
        w.bytes += namedList(2, json, skippingExtensions: true, Self.pathItem)
        return w.bytes
    }

    static let methodFields = [("get", 2), ("put", 3), ("post", 4), ("delete", 5), ("options", 6), ("head", 7), ("patch", 8)]

    static func pathItem(_ json: JSON) -> [UInt8] {
        var w = ProtobufWriter()
        w.string(1, json["$ref"]?.stringValue)
        for (method, field) in methodFields {
            if let op = json[method] { w.message(field, operation(op)) }
        }
        for p in json["parameters"]?.arrayValue ?? [] { w.message(9, parametersItem(p)) }
        extensions(10, json, into: &w)
        return w.bytes
    }

    static func operation(_ json: JSON) -> [UInt8] {
        var w = ProtobufWriter()
        w.strings(1, json["tags"])
        w.string(2, json["summary"]?.stringValue)
        w.string(3, json["description"]?.stringValue)
        w.string(5, json["operationId"]?.stringValue)
        w.strings(6, json["produces"])
        w.strings(7, json["consumes"])
        for p in json["parameters"]?.arrayValue ?? [] { w.message(8, parametersItem(p)) }
        if let responses = json["responses"] { w.message(9, Self.responses(responses)) }
        w.strings(10, json["schemes"])
        w.bool(11, json["deprecated"]?.boolValue)
        extensions(13, json, into: &w)
        return w.bytes
    }

    /// ParametersItem: a JSON reference (2) or a Parameter (1), which is a body
    /// parameter (1) or a non-body one (2) of a kind chosen by `in`.
    static func parametersItem(_ json: JSON) -> [UInt8] {
        var w = ProtobufWriter()
        if let ref = json["$ref"]?.stringValue {
            var r = ProtobufWriter()
            r.string(1, ref)
            w.message(2, r.bytes)
            return w.bytes
        }
        var parameter = ProtobufWriter()
        if json["in"]?.stringValue == "body" {
            parameter.message(1, bodyParameter(json))
        } else {
            parameter.message(2, nonBodyParameter(json))
        }
        w.message(1, parameter.bytes)
        return w.bytes
    }

    static func bodyParameter(_ json: JSON) -> [UInt8] {
        var w = ProtobufWriter()
        w.string(1, json["description"]?.stringValue)
        w.string(2, json["name"]?.stringValue)
        w.string(3, json["in"]?.stringValue)
        w.bool(4, json["required"]?.boolValue)
        if let s = json["schema"] { w.message(5, schema(s)) }
        extensions(6, json, into: &w)
        return w.bytes
    }

    /// NonBodyParameter: header (1), formData (2), query (3) or path (4). Query and
    /// formData share a field layout; header and path lack allowEmptyValue and shift up.
    static func nonBodyParameter(_ json: JSON) -> [UInt8] {
        let location = json["in"]?.stringValue ?? "query"
        let (field, hasAllowEmpty) = switch location {
        case "header": (1, false)
        case "formData": (2, true)
        case "path": (4, false)
        default: (3, true)
        }
        let shift = hasAllowEmpty ? 1 : 0
        var s = ProtobufWriter()
        s.bool(1, json["required"]?.boolValue)
        s.string(2, json["in"]?.stringValue)
        s.string(3, json["description"]?.stringValue)
        s.string(4, json["name"]?.stringValue)
        if hasAllowEmpty { s.bool(5, json["allowEmptyValue"]?.boolValue) }
        s.string(5 + shift, json["type"]?.stringValue)
        s.string(6 + shift, json["format"]?.stringValue)
        s.string(8 + shift, json["collectionFormat"]?.stringValue)
        s.bool(19 + shift, json["uniqueItems"]?.boolValue)
        extensions(22 + shift, json, into: &s)
        var w = ProtobufWriter()
        w.message(field, s.bytes)
        return w.bytes
    }

    static func responses(_ json: JSON) -> [UInt8] {
        var w = ProtobufWriter()
        w.bytes += namedList(1, json, skippingExtensions: true) { value in
            var v = ProtobufWriter()
            v.message(1, response(value))
            return v.bytes
        }
        extensions(2, json, into: &w)
        return w.bytes
    }

    static func response(_ json: JSON) -> [UInt8] {
        var w = ProtobufWriter()
        w.string(1, json["description"]?.stringValue)
        if let s = json["schema"] {
            var item = ProtobufWriter()
            item.message(1, schema(s))
            w.message(2, item.bytes)
        }
        extensions(5, json, into: &w)
        return w.bytes
    }

    static func schema(_ json: JSON) -> [UInt8] {
        var w = ProtobufWriter()
        w.string(1, json["$ref"]?.stringValue)
        w.string(2, json["format"]?.stringValue)
        w.string(3, json["title"]?.stringValue)
        w.string(4, json["description"]?.stringValue)
        if let d = json["default"] { w.message(5, any(d)) }
        w.strings(19, json["required"])
        for e in json["enum"]?.arrayValue ?? [] { w.message(20, any(e)) }
        if let additional = json["additionalProperties"] {
            var item = ProtobufWriter()
            if let b = additional.boolValue { item.varintField(2, b ? 1 : 0) } else { item.message(1, schema(additional)) }
            w.message(21, item.bytes)
        }
        if let type = json["type"] {
            var item = ProtobufWriter()
            item.strings(1, type.stringValue.map { .array([.string($0)]) } ?? type)
            w.message(22, item.bytes)
        }
        if let items = json["items"] {
            var item = ProtobufWriter()
            for s in items.arrayValue ?? [items] { item.message(1, schema(s)) }
            w.message(23, item.bytes)
        }
        for s in json["allOf"]?.arrayValue ?? [] { w.message(24, schema(s)) }
        if let properties = json["properties"] { w.message(25, namedList(1, properties, Self.schema)) }
        w.bool(27, json["readOnly"]?.boolValue)
        extensions(31, json, into: &w)
        return w.bytes
    }

    /// A map as repeated Named* messages (name 1, value 2). Where the message has vendor
    /// extensions of its own (paths, responses) `x-` keys are those, not entries; property
    /// and definition names may start with `x-` (JSONSchemaProps has such fields).
    static func namedList(_ field: Int, _ json: JSON, skippingExtensions: Bool = false, _ value: (JSON) -> [UInt8]) -> [UInt8] {
        var w = ProtobufWriter()
        for (name, v) in json.objectValue ?? JSONObject() where !(skippingExtensions && name.hasPrefix("x-")) {
            var named = ProtobufWriter()
            named.string(1, name)
            named.message(2, value(v))
            w.message(field, named.bytes)
        }
        return w.bytes
    }

    /// Vendor extensions: `x-` keys as NamedAny (name 1, Any 2 with the value as YAML in 2).
    static func extensions(_ field: Int, _ json: JSON, into w: inout ProtobufWriter) {
        for (name, value) in json.objectValue ?? JSONObject() where name.hasPrefix("x-") {
            var named = ProtobufWriter()
            named.string(1, name)
            named.message(2, any(value))
            w.message(field, named.bytes)
        }
    }

    static func any(_ value: JSON) -> [UInt8] {
        var w = ProtobufWriter()
        w.string(2, yaml(value) + "\n")
        return w.bytes
    }

    /// YAML text of a JSON value in flow style. JSON with a space after every `:` and `,`
    /// is valid YAML, and double-quoted strings keep their JSON escapes.
    static func yaml(_ value: JSON) -> String {
        switch value {
        case .array(let items): return "[" + items.map(yaml).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.map { JSON.string($0.0).serializedString() + ": " + yaml($0.1) }.joined(separator: ", ") + "}"
        default: return value.serializedString()
        }
    }
}

/// A protobuf wire-format writer: varints and length-delimited fields are all these
/// messages need. proto3 defaults (empty strings, false) are left out.
struct ProtobufWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func key(_ field: Int, wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    mutating func varintField(_ field: Int, _ value: UInt64) {
        key(field, wireType: 0)
        varint(value)
    }

    /// A length-delimited field; written even when empty, since a present empty message
    /// differs from an absent one.
    mutating func message(_ field: Int, _ body: [UInt8]) {
        key(field, wireType: 2)
        varint(UInt64(body.count))
        bytes += body
    }

    mutating func string(_ field: Int, _ value: String?) {
        guard let value, !value.isEmpty else { return }
        message(field, Array(value.utf8))
    }

    mutating func bool(_ field: Int, _ value: Bool?) {
        if value == true { varintField(field, 1) }
    }

    /// A repeated string field from a JSON array of strings.
    mutating func strings(_ field: Int, _ value: JSON?) {
        for s in value?.arrayValue ?? [] { if let s = s.stringValue { message(field, Array(s.utf8)) } }
    }
}
