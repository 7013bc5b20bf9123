import Testing
@testable import SkiffAPI
import SkiffCore

@Suite struct OpenAPITests {
    static let resources: [OpenAPIResource] = [
        OpenAPIResource(group: "", version: "v1", kind: "Namespace", resource: "namespaces", namespaced: false,
                        schemaType: "core/v1.Namespace",
                        subresources: [OpenAPISubresource(name: "status", group: "", version: "v1", kind: "Namespace", verbs: ["get", "patch", "update"])]),
        OpenAPIResource(group: "", version: "v1", kind: "Pod", resource: "pods", namespaced: true, schemaType: "core/v1.Pod",
                        subresources: [
                            OpenAPISubresource(name: "status", group: "", version: "v1", kind: "Pod", verbs: ["get", "patch", "update"]),
                            OpenAPISubresource(name: "binding", group: "", version: "v1", kind: "Binding", verbs: ["create"]),
                            OpenAPISubresource(name: "log", group: "", version: "v1", kind: "Pod", verbs: ["get"]),
                        ]),
        OpenAPIResource(group: "", version: "v1", kind: "Binding", resource: "bindings", namespaced: true,
                        schemaType: "core/v1.Binding", verbs: ["create"]),
        OpenAPIResource(group: "apps", version: "v1", kind: "Deployment", resource: "deployments", namespaced: true,
                        schemaType: "apps/v1.Deployment",
                        subresources: [
                            OpenAPISubresource(name: "status", group: "apps", version: "v1", kind: "Deployment", verbs: ["get", "patch", "update"]),
                            OpenAPISubresource(name: "scale", group: "autoscaling", version: "v1", kind: "Scale", verbs: ["get", "patch", "update"]),
                        ]),
        OpenAPIResource(group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", resource: "clusterroles",
                        namespaced: false, schemaType: "rbac/v1.ClusterRole"),
        OpenAPIResource(group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition",
                        resource: "customresourcedefinitions", namespaced: false, schemaType: "apiextensions/v1.CustomResourceDefinition"),
    ]

    static let documents = OpenAPIDocuments(schema: .builtIn, resources: resources)
    static let deploymentItem = "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"

    @Test func indexListsEveryGroupVersionWithItsHash() throws {
        let paths = try #require(Self.documents.v3Index()["paths"]?.objectValue)
        #expect(paths.keys == ["api/v1", "apis/apiextensions.k8s.io/v1", "apis/apps/v1", "apis/rbac.authorization.k8s.io/v1"])
        for (path, entry) in paths {
            let hash = Self.documents.v3Hash(path: path)
            #expect(hash.count == 32)
            #expect(entry["serverRelativeURL"]?.stringValue == "/openapi/v3/\(path)?hash=\(hash)")
            #expect(Self.documents.v3(path: path) != nil)
        }
        #expect(Self.documents.v3(path: "apis/batch/v1") == nil)
    }

    /// A custom resource has no schema type: its group-version stays out of the index so
    /// kubectl checks the CustomResourceDefinition operations instead.
    @Test func resourcesWithoutSchemaAreLeftOut() {
        let widget = OpenAPIResource(group: "example.com", version: "v1", kind: "Widget", resource: "widgets",
                                     namespaced: true, schemaType: "example.com/v1.Widget")
        let documents = OpenAPIDocuments(schema: .builtIn, resources: Self.resources + [widget])
        #expect(documents.v3(path: "apis/example.com/v1") == nil)
        #expect(documents.v3Index()["paths"]?["apis/example.com/v1"] == nil)
        #expect(documents.v3Hash(path: "apis/apps/v1") == Self.documents.v3Hash(path: "apis/apps/v1"))
    }

    @Test func hashesAreStableAcrossBuilds() {
        let again = OpenAPIDocuments(schema: .builtIn, resources: Self.resources)
        #expect(again.v3Hash(path: "apis/apps/v1") == Self.documents.v3Hash(path: "apis/apps/v1"))
        #expect(again.v3Hash(path: "api/v1") != Self.documents.v3Hash(path: "apis/apps/v1"))
        #expect(again.v2Protobuf() == Self.documents.v2Protobuf())
    }

    /// What kubectl's query-param verifier looks for before trusting the server to validate.
    @Test func deploymentPatchCarriesKindAndFieldValidation() throws {
        let doc = try #require(Self.documents.v3(path: "apis/apps/v1"))
        #expect(doc["openapi"]?.stringValue?.hasPrefix("3.") == true)
        let patch = try #require(doc[path: ["paths", Self.deploymentItem, "patch"]])
        #expect(patch["x-kubernetes-group-version-kind"] == ["group": "apps", "kind": "Deployment", "version": "v1"])
        #expect(patch["x-kubernetes-action"] == "patch")
        let query = (patch["parameters"]?.arrayValue ?? []).filter { $0["in"] == "query" }.compactMap { $0["name"]?.stringValue }
        #expect(Set(query).isSuperset(of: ["fieldValidation", "dryRun", "fieldManager", "force"]))
        #expect(patch[path: ["requestBody", "content", "application/strategic-merge-patch+json"]] != nil)
    }

    @Test func everyPatchOperationTakesFieldValidation() {
        var patches = 0
        for document in allDocuments() {
            for (_, item) in document["paths"]?.objectValue ?? JSONObject() {
                guard let patch = item["patch"] else { continue }
                patches += 1
                let names = (patch["parameters"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
                #expect(names.contains("fieldValidation"))
                #expect(patch["x-kubernetes-group-version-kind"]?["kind"] != nil)
            }
        }
        #expect(patches >= 12)
    }

    @Test func resourcePathsFollowScopeVerbsAndSubresources() throws {
        let core = try #require(Self.documents.v3(path: "api/v1"))
        let paths = try #require(core["paths"]?.objectValue)
        #expect(paths["/api/v1/namespaces/{name}"]?["put"] != nil)
        #expect(paths["/api/v1/namespaces/{namespace}/pods"]?["post"] != nil)
        #expect(paths["/api/v1/pods"]?["get"]?["x-kubernetes-action"] == "list")
        #expect(paths["/api/v1/namespaces/{namespace}/pods/{name}/status"]?["patch"] != nil)
        #expect(paths["/api/v1/namespaces/{namespace}/pods/{name}/binding"]?["post"]?[path: ["x-kubernetes-group-version-kind", "kind"]] == "Binding")
        #expect(paths["/api/v1/namespaces/{namespace}/pods/{name}/log"] == nil)
        let bindings = try #require(paths["/api/v1/namespaces/{namespace}/bindings"]?.objectValue)
        #expect(bindings.keys == ["post", "parameters"])
        #expect(paths["/api/v1/namespaces/{namespace}/bindings/{name}"] == nil)

        let apps = try #require(Self.documents.v3(path: "apis/apps/v1"))
        let scale = try #require(apps[path: ["paths", Self.deploymentItem + "/scale", "patch"]])
        #expect(scale["x-kubernetes-group-version-kind"] == ["group": "autoscaling", "kind": "Scale", "version": "v1"])
        #expect(apps[path: ["components", "schemas", "io.k8s.api.autoscaling.v1.Scale"]] != nil)
    }

    @Test func deploymentSchemaResolvesEveryReference() throws {
        let doc = try #require(Self.documents.v3(path: "apis/apps/v1"))
        let schemas = try #require(doc[path: ["components", "schemas"]]?.objectValue)
        var refs: [String] = []
        collectRefs(doc, into: &refs)
        #expect(refs.contains("#/components/schemas/io.k8s.api.core.v1.PodSpec"))
        for ref in refs {
            #expect(ref.hasPrefix("#/components/schemas/"))
            #expect(schemas[String(ref.dropFirst("#/components/schemas/".count))] != nil, "unresolved \(ref)")
        }
        for name in ["io.k8s.api.apps.v1.Deployment", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                     "io.k8s.apimachinery.pkg.api.resource.Quantity", "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
                     "io.k8s.apimachinery.pkg.apis.meta.v1.Time"] {
            #expect(schemas[name] != nil, "missing \(name)")
        }
        let deployment = try #require(schemas["io.k8s.api.apps.v1.Deployment"])
        #expect(deployment["x-kubernetes-group-version-kind"] == [["group": "apps", "kind": "Deployment", "version": "v1"]])
        #expect(deployment["required"] == ["spec"])
    }

    @Test func fieldsCarryPatchAndListExtensions() throws {
        let v3 = try #require(Self.documents.v3(path: "apis/apps/v1")?[path: ["components", "schemas"]])
        let containers = try #require(v3[path: ["io.k8s.api.core.v1.PodSpec", "properties", "containers"]])
        #expect(containers["x-kubernetes-patch-merge-key"] == "name")
        #expect(containers["x-kubernetes-patch-strategy"] == "merge")
        #expect(containers["x-kubernetes-list-type"] == "map")
        #expect(containers["x-kubernetes-list-map-keys"] == ["name"])
        #expect(containers[path: ["items", "$ref"]] == "#/components/schemas/io.k8s.api.core.v1.Container")
        // A reference with siblings: allOf in v3 (siblings of $ref are ignored there), $ref in v2.
        let strategy = try #require(v3[path: ["io.k8s.api.apps.v1.DeploymentSpec", "properties", "strategy"]])
        #expect(strategy["allOf"] == [["$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy"]])
        #expect(strategy["x-kubernetes-patch-strategy"] == "retainKeys")
        let v2 = try #require(Self.documents.v2JSON()[path: ["definitions", "io.k8s.api.apps.v1.DeploymentSpec", "properties", "strategy"]])
        #expect(v2["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy")
        #expect(v2["x-kubernetes-patch-strategy"] == "retainKeys")
        #expect(v3[path: ["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", "x-kubernetes-map-type"]] == "atomic")
    }

    @Test func swaggerDocumentResolvesEveryReference() throws {
        let v2 = Self.documents.v2JSON()
        #expect(v2["swagger"] == "2.0")
        let definitions = try #require(v2["definitions"]?.objectValue)
        #expect(definitions["io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"] != nil)
        var refs: [String] = []
        collectRefs(v2, into: &refs)
        for ref in refs {
            #expect(definitions[String(ref.dropFirst("#/definitions/".count))] != nil, "unresolved \(ref)")
        }
        let patch = try #require(v2[path: ["paths", Self.deploymentItem, "patch"]])
        #expect(patch["consumes"]?.arrayValue?.contains("application/strategic-merge-patch+json") == true)
    }

    /// Reads the protobuf back by field number, as kubectl 1.27's verifier walks it:
    /// Document.paths(8).path(2) -> PathItem.patch(8) -> Operation extensions(13) and
    /// parameters(8) -> Parameter(1) -> NonBodyParameter(2) -> query(3).name(4).
    @Test func protobufCarriesTheDeploymentPatchOperation() throws {
        let document = try WireMessage(Self.documents.v2Protobuf())
        #expect(document.string(1) == "2.0")
        let paths = try #require(try document.message(8))
        let entry = try #require(try paths.messages(2).first { $0.string(1) == Self.deploymentItem })
        let patch = try #require(try entry.message(2)?.message(8))
        #expect(patch.string(5) == "patchAppsV1NamespacedDeployment")
        let gvk = try #require(try patch.messages(13).first { $0.string(1) == "x-kubernetes-group-version-kind" })
        let yaml = try #require(try gvk.message(2)?.string(2))
        #expect(yaml == "{\"group\": \"apps\", \"kind\": \"Deployment\", \"version\": \"v1\"}\n")
        let queryNames = try patch.messages(8).compactMap { try $0.message(1)?.message(2)?.message(3)?.string(4) }
        #expect(queryNames.contains("fieldValidation"))
        #expect(patch.strings(7).contains("application/strategic-merge-patch+json"))

        let definitions = try #require(try document.message(9))
        let named = try definitions.messages(1)
        #expect(named.count == Self.documents.v2JSON()["definitions"]?.objectValue?.count)
        let spec = try #require(try named.first { $0.string(1) == "io.k8s.api.core.v1.PodSpec" }?.message(2))
        let properties = try #require(try spec.message(25)).messages(1)
        let containers = try #require(try properties.first { $0.string(1) == "containers" }?.message(2))
        #expect(try containers.message(22)?.strings(1) == ["array"])
        #expect(try containers.message(23)?.message(1)?.string(1) == "#/definitions/io.k8s.api.core.v1.Container")
        let extensions = try containers.messages(31).map { ($0.string(1) ?? "", try $0.message(2)?.string(2) ?? "") }
        #expect(extensions.contains { $0 == ("x-kubernetes-patch-merge-key", "\"name\"\n") })
    }

    @Test func protobufWriterEncodesVarintsAndEmptyMessages() {
        var w = ProtobufWriter()
        w.varintField(1, 300)
        w.message(2, [])
        w.string(3, "")
        w.bool(4, false)
        w.string(5, "hi")
        #expect(w.bytes == [0x08, 0xAC, 0x02, 0x12, 0x00, 0x2A, 0x02, 0x68, 0x69])
    }

    func allDocuments() -> [JSON] {
        let paths = Self.documents.v3Index()["paths"]?.objectValue?.keys ?? []
        return paths.compactMap { Self.documents.v3(path: $0) } + [Self.documents.v2JSON()]
    }

    func collectRefs(_ json: JSON, into refs: inout [String]) {
        switch json {
        case .object(let o):
            for (k, v) in o {
                if k == "$ref", let s = v.stringValue { refs.append(s) } else { collectRefs(v, into: &refs) }
            }
        case .array(let a): for v in a { collectRefs(v, into: &refs) }
        default: break
        }
    }
}

/// A protobuf message split into its fields, enough to walk nested messages in a test.
struct WireMessage {
    var fields: [(number: Int, varint: UInt64?, bytes: [UInt8]?)] = []

    struct Malformed: Error {}

    init(_ data: [UInt8]) throws {
        var i = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard i < data.count, shift < 64 else { throw Malformed() }
                let b = data[i]
                i += 1
                value |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return value }
                shift += 7
            }
        }
        while i < data.count {
            let key = try varint()
            switch key & 7 {
            case 0: fields.append((Int(key >> 3), try varint(), nil))
            case 2:
                let n = Int(try varint())
                guard i + n <= data.count else { throw Malformed() }
                fields.append((Int(key >> 3), nil, Array(data[i..<i + n])))
                i += n
            default: throw Malformed()
            }
        }
    }

    func string(_ number: Int) -> String? {
        fields.last { $0.number == number }?.bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    func strings(_ number: Int) -> [String] {
        fields.filter { $0.number == number }.compactMap { $0.bytes.map { String(decoding: $0, as: UTF8.self) } }
    }

    func message(_ number: Int) throws -> WireMessage? {
        try fields.last { $0.number == number }?.bytes.map { try WireMessage($0) }
    }

    func messages(_ number: Int) throws -> [WireMessage] {
        try fields.filter { $0.number == number }.compactMap { try $0.bytes.map { try WireMessage($0) } }
    }
}
