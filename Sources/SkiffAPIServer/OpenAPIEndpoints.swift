import Synchronization
import SkiffAPI
import SkiffCore

/// /openapi/v3 and /openapi/v2: what `kubectl apply` validates against and `kubectl
/// explain` reads. Built from the schema once per registry generation and kept encoded.
final class OpenAPICache: Sendable {
    struct Built {
        var generation: Int
        var documents: OpenAPIDocuments
        var v3: [String: [UInt8]]
        var v2JSON: [UInt8]
        var v2Protobuf: [UInt8]
    }

    private let built = Mutex<Built?>(nil)

    func documents(_ registry: ResourceRegistry, _ schema: APISchema) -> Built {
        let generation = registry.generation
        if let b = built.withLock({ $0 }), b.generation == generation { return b }
        let resources = registry.all.compactMap { r -> OpenAPIResource? in
            guard let type = r.schemaType, schema[type: type] != nil else { return nil }
            return OpenAPIResource(
                group: r.group, version: r.version, kind: r.kind, resource: r.resource, namespaced: r.namespaced,
                schemaType: type, verbs: r.verbs,
                subresources: r.subresources.map { OpenAPISubresource(name: $0.name, group: $0.group, version: $0.version, kind: $0.kind, verbs: $0.verbs) })
        }
        let docs = OpenAPIDocuments(schema: schema, resources: resources)
        let b = Built(generation: generation, documents: docs, v3: [:], v2JSON: docs.v2JSON().serialized(), v2Protobuf: docs.v2Protobuf())
        built.withLock { $0 = b }
        return b
    }
}

extension APIHandler {
    static let openAPIProtobufType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

    func openAPI(_ req: APIRequest) throws(APIError) -> APIResponse {
        let b = openAPICache.documents(registry, schema)
        let path = req.path
        if path == "/openapi/v2" || path == "/swagger-2.0.0.pb-v1" {
            if (req.header("accept") ?? "").contains("protobuf") || path == "/swagger-2.0.0.pb-v1" {
                return APIResponse(status: 200, contentType: Self.openAPIProtobufType, body: .bytes(b.v2Protobuf))
            }
            return .json(200, b.v2JSON)
        }
        if path == "/openapi/v3" || path == "/openapi/v3/" {
            return .json(200, b.documents.v3Index())
        }
        let sub = String(path.dropFirst("/openapi/v3/".count))
        guard let doc = b.documents.v3(path: sub) else {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        return .json(200, doc)
    }
}
