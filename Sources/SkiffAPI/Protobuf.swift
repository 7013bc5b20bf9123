import SkiffCore

/// Decodes Kubernetes Protobuf request bodies (`application/vnd.kubernetes.protobuf`) into
/// the JSON object the client would have sent as JSON. kubectl 1.32+ sends `create` bodies
/// only this way. The result is what Go would get by unmarshalling into the typed struct
/// (gogo-protobuf) and marshalling that as JSON, so the schema's `ptr`, `noomit` and
/// `inline` flags decide which empty values appear (`creationTimestamp: null`, `status: {}`).
///
/// The body is the magic `k8s\0` and a runtime.Unknown: 1 TypeMeta {1 apiVersion, 2 kind},
/// 2 the raw message of the kind, 3 contentEncoding and 4 contentType (both ignored, as
/// upstream does). Unknown fields are skipped; malformed input is a 400, never a crash.
public enum ProtobufDecoder {
    static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]

    /// Nesting limit in messages; a CRD schema of 40 nested properties needs about 90.
    static let maxDepth = 200

    public static func decode(_ body: [UInt8], schema: APISchema) throws(APIError) -> JSON {
        try decode(body, schema: schema, depth: 0)
    }

    static func decode(_ body: [UInt8], schema: APISchema, depth: Int) throws(APIError) -> JSON {
        guard body.count >= magic.count, Array(body.prefix(magic.count)) == magic else {
            throw .badRequest("provided data does not appear to be a protobuf message, expected prefix \(magic)")
        }
        guard body.count > magic.count else { throw .badRequest("empty body") }
        var apiVersion = "", kind = ""
        var raw = Chunk(buffer: body, range: body.count..<body.count)
        var reader = FieldReader(Chunk(buffer: body, range: magic.count..<body.count))
        while let (tag, value) = try reader.next() {
            switch (tag, value) {
            case (1, .bytes(let r)):
                var meta = FieldReader(Chunk(buffer: body, range: r))
                while let (t, v) = try meta.next() {
                    switch (t, v) {
                    case (1, .bytes(let s)): apiVersion = string(body, s)
                    case (2, .bytes(let s)): kind = string(body, s)
                    case (1, _), (2, _): throw wrongWireType("TypeMeta", t)
                    default: continue
                    }
                }
            case (2, .bytes(let r)): raw = Chunk(buffer: body, range: r)
            case (1, _), (2, _), (3, .varint), (3, .fixed32), (3, .fixed64), (4, .varint), (4, .fixed32), (4, .fixed64):
                throw wrongWireType("Unknown", tag)
            default: continue
            }
        }
        guard !kind.isEmpty else { throw .badRequest("Object 'Kind' is missing in protobuf envelope") }
        guard !apiVersion.isEmpty else { throw .badRequest("Object 'apiVersion' is missing in protobuf envelope") }
        guard let type = objectType(apiVersion: apiVersion, kind: kind, schema: schema) else {
            throw .badRequest("no kind \"\(kind)\" is registered for version \"\(apiVersion)\"")
        }
        let fields = try Decoder(schema: schema).message(raw, as: type, depth: depth + 1)
        var object = JSONObject()
        object["apiVersion"] = .string(apiVersion)
        object["kind"] = .string(kind)
        for (key, value) in fields where key != "apiVersion" && key != "kind" { object[key] = value }
        return .object(object)
    }

    /// "apps/v1"+"Deployment" -> apps/v1.Deployment; "v1" is the core group; a group's
    /// package is its first label ("rbac.authorization.k8s.io/v1" -> rbac/v1). Only built-in
    /// groups (one label, or under k8s.io) map, so apps.example.com/v1 is not apps/v1. Option
    /// kinds (DeleteOptions, Status) are registered in every group version but live in meta/v1.
    static func objectType(apiVersion: String, kind: String, schema: APISchema) -> APISchema.TypeDef? {
        let parts = apiVersion.split(separator: "/", omittingEmptySubsequences: false)
        let package: String
        switch parts.count {
        case 1: package = "core/\(parts[0])"
        case 2 where !parts[0].contains(".") || parts[0].hasSuffix(".k8s.io"):
            package = "\(parts[0].split(separator: ".").first ?? "")/\(parts[1])"
        default: return nil
        }
        if let t = schema[type: "\(package).\(kind)"], t.isObject { return t }
        if ["DeleteOptions", "Status"].contains(kind), let t = schema[type: "meta/v1.\(kind)"] { return t }
        return nil
    }

    static func string(_ buffer: [UInt8], _ range: Range<Int>) -> String {
        String(decoding: buffer[range], as: UTF8.self)
    }

    static func wrongWireType(_ message: String, _ tag: Int) -> APIError {
        .badRequest("proto: wrong wireType for field \(tag) of \(message)")
    }

    static func wrongWireType(_ site: Site) -> APIError {
        .badRequest("proto: wrong wireType for field \(site)")
    }

    /// Fields whose wire message is not what their schema type (`any`) suggests: the
    /// apiextensions "JSONSchemaPropsOr..." unions and pointers to empty structs.
    enum Special { case orArray, orBool, orStringArray, emptyObject }

    static let specials: [String: [String: Special]] = [
        "apiextensions/v1.JSONSchemaProps": [
            "items": .orArray, "additionalProperties": .orBool, "additionalItems": .orBool, "dependencies": .orStringArray,
        ],
        "apiextensions/v1.CustomResourceSubresources": ["status": .emptyObject],
        "scheduling/v1alpha3.WorkloadPodGroupSchedulingPolicy": ["basic": .emptyObject],
        "scheduling/v1alpha3.WorkloadPodGroupDisruptionMode": ["single": .emptyObject, "all": .emptyObject],
    ]

    /// Where a value sits: names the field in errors and finds the special fields.
    struct Site: CustomStringConvertible {
        var type: String
        var field: String
        var description: String { "\(type).\(field)" }
        var special: Special? { ProtobufDecoder.specials[type]?[field] }
    }
}
