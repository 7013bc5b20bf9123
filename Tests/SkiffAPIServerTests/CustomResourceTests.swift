import SkiffAPIServer
import SkiffCore
import Testing

let widgetCRD = """
    {"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},
     "spec":{"group":"example.com","scope":"Namespaced",
       "names":{"plural":"widgets","singular":"widget","kind":"Widget","shortNames":["wd"],"categories":["all"]},
       "versions":[{"name":"v1","served":true,"storage":true,
         "subresources":{"status":{},"scale":{"specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas"}},
         "additionalPrinterColumns":[{"name":"Size","type":"integer","jsonPath":".spec.size"}],
         "schema":{"openAPIV3Schema":{"type":"object","properties":{
           "spec":{"type":"object","required":["size"],"properties":{
             "size":{"type":"integer","minimum":1},"replicas":{"type":"integer"},
             "color":{"type":"string","enum":["red","blue"]},
             "extra":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}},
           "status":{"type":"object","properties":{"replicas":{"type":"integer"}}}}}}}]}}
    """

@Suite struct CustomResourceTests {
    @Test func definitionServesItsResourcesAtOnce() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let crd = try await s.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", widgetCRD)
        let conditions = crd[path: ["status", "conditions"]]?.arrayValue ?? []
        #expect(conditions.contains { $0["type"] == "Established" && $0["status"] == "True" })
        #expect(crd[path: ["status", "acceptedNames", "kind"]] == "Widget")

        let w = try await s.create("/apis/example.com/v1/namespaces/default/widgets",
                                   #"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":3,"replicas":1,"junk":1,"extra":{"free":true}}}"#)
        // Undeclared fields are pruned; preserve-unknown-fields keeps its subtree.
        #expect(w[path: ["spec", "junk"]] == nil)
        #expect(w[path: ["spec", "extra", "free"]] == true)
        #expect(w.generation == 1)

        let strict = await s.request("POST", "/apis/example.com/v1/namespaces/default/widgets?fieldValidation=Strict",
                                     #"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w2"},"spec":{"size":3,"junk":1}}"#)
        #expect(strict.status == 400)
        #expect(strict.json["message"]?.stringValue?.contains(#"unknown field "spec.junk""#) == true)

        let invalid = await s.request("POST", "/apis/example.com/v1/namespaces/default/widgets",
                                      #"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w3"},"spec":{"size":"big","color":"green"}}"#)
        #expect(invalid.status == 422)
        let fields = invalid.json[path: ["details", "causes"]]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
        #expect(fields.contains("spec.size") && fields.contains("spec.color"))
        let missing = await s.request("POST", "/apis/example.com/v1/namespaces/default/widgets",
                                      #"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w4"},"spec":{}}"#)
        #expect(missing.status == 422)

        let table = await s.request("GET", "/apis/example.com/v1/namespaces/default/widgets",
                                    headers: ["Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"])
        #expect(table.json["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["Name", "Size"])
        #expect(table.json["rows"]?.arrayValue?.first?["cells"] == ["w1", 3])

        let scale = await s.request("PATCH", "/apis/example.com/v1/namespaces/default/widgets/w1/scale", #"{"spec":{"replicas":4}}"#)
        #expect(scale.json[path: ["spec", "replicas"]] == 4)
        let status = await s.request("PATCH", "/apis/example.com/v1/namespaces/default/widgets/w1/status", #"{"status":{"replicas":4}}"#)
        #expect(status.json[path: ["status", "replicas"]] == 4)
        #expect(status.json[path: ["spec", "replicas"]] == 4)

        let smp = await s.request("PATCH", "/apis/example.com/v1/namespaces/default/widgets/w1", #"{"spec":{"size":5}}"#,
                                  headers: ["Content-Type": "application/strategic-merge-patch+json"])
        #expect(smp.status == 415)

        let discovery = await s.request("GET", "/apis/example.com/v1")
        #expect(discovery.json["resources"]?.arrayValue?.first?["shortNames"] == ["wd"])

        let deleted = await s.request("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
        #expect(deleted.status == 200)
        #expect(await s.request("GET", "/apis/example.com/v1/namespaces/default/widgets").status == 404)
        // Defining it again starts empty: the old widgets went with their definition.
        _ = try await s.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", widgetCRD)
        #expect(await s.request("GET", "/apis/example.com/v1/namespaces/default/widgets").json["items"]?.arrayValue?.isEmpty == true)
    }

    @Test func versionsAreServedWithConversionNone() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let schema = #"{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}"#
        _ = try await s.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", """
            {"metadata":{"name":"gadgets.example.com"},"spec":{"group":"example.com","scope":"Namespaced",
             "names":{"plural":"gadgets","kind":"Gadget"},
             "versions":[{"name":"v1beta1","served":true,"storage":false,"schema":\(schema)},
                         {"name":"v1","served":true,"storage":true,"schema":\(schema)}]}}
            """)
        let created = try await s.create("/apis/example.com/v1beta1/namespaces/default/gadgets",
                                         #"{"apiVersion":"example.com/v1beta1","kind":"Gadget","metadata":{"name":"g"},"spec":{"n":1}}"#)
        #expect(created["apiVersion"] == "example.com/v1beta1")
        let asV1 = await s.request("GET", "/apis/example.com/v1/namespaces/default/gadgets/g")
        #expect(asV1.json["apiVersion"] == "example.com/v1")
        #expect(asV1.json[path: ["spec", "n"]] == 1)
        let list = await s.request("GET", "/apis/example.com/v1beta1/namespaces/default/gadgets")
        #expect(list.json["items"]?.arrayValue?.first?["apiVersion"] == "example.com/v1beta1")
        let update = await s.request("PATCH", "/apis/example.com/v1/namespaces/default/gadgets/g", #"{"spec":{"n":2}}"#)
        #expect(update.json["apiVersion"] == "example.com/v1")
        let again = await s.request("GET", "/apis/example.com/v1beta1/namespaces/default/gadgets/g")
        #expect(again.json["apiVersion"] == "example.com/v1beta1")
        #expect(again.json[path: ["spec", "n"]] == 2)
    }

    @Test func invalidDefinitionsAreRejected() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let bad = await s.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                  #"{"metadata":{"name":"things.nodot"},"spec":{"group":"nodot","scope":"Galaxy","names":{"plural":"things","kind":"Thing"},"versions":[]}}"#)
        #expect(bad.status == 422)
    }
}
