import Testing
@testable import SkiffAPI

@Suite struct SchemaTests {
    @Test func builtInSchemaParsesAndResolves() throws {
        let schema = try APISchema(sources: SchemaSources.all)
        #expect(schema[type: "core/v1.Pod"]?.isObject == true)
        #expect(schema[type: "core/v1.PodList"]?.field("items") != nil)
        let containers = try #require(schema[type: "core/v1.PodSpec"]?.field("containers"))
        #expect(containers.patchMergeKey == "name")
        #expect(containers.required)
    }

    @Test func rejectsUnknownReferences() {
        #expect(throws: APISchema.SchemaError.self) {
            try APISchema(sources: ["package x/v1\ntype A\n  b Missing 1\n"])
        }
    }

    @Test func parsesFlags() throws {
        let schema = try APISchema(sources: ["""
            package x/v1
            type A object
              items []B 1 merge=name map=name
              tags []string 2 merge set
              strategy B 3 retainKeys
            type B atomic
              name string 1 required
            package meta/v1
            type ListMeta
              resourceVersion string 2
            """])
        let a = try #require(schema[type: "x/v1.A"])
        #expect(a.field("apiVersion")?.tag == nil)
        #expect(a.field("items")?.type == .array(.ref("x/v1.B")))
        #expect(a.field("items")?.listMapKeys == ["name"])
        #expect(a.field("tags")?.listType == "set")
        #expect(a.field("strategy")?.patchStrategies == ["retainKeys"])
        #expect(schema[type: "x/v1.B"]?.isAtomic == true)
        #expect(schema[type: "x/v1.AList"] != nil)
    }

    @Test func inlineFieldsArePromotedInJSONAndNestedOnTheWire() throws {
        let schema = try APISchema(sources: ["""
            package x/v1
            type Probe
              handler Handler 1 inline
              period int32 2 ptr
              name string 3 noomit
            type Handler
              exec string 1
              port int32 2 required
            """])
        let probe = try #require(schema[type: "x/v1.Probe"])
        #expect(probe.fields.map(\.name) == ["exec", "port", "period", "name"])
        #expect(probe.field("exec")?.tag == nil)
        #expect(probe.field("port")?.required == true)
        #expect(probe.field("handler") == nil)
        #expect(probe.declaredFields.map(\.name) == ["handler", "period", "name"])
        #expect(probe.field(tag: 1)?.isInline == true)
        #expect(probe.field("period")?.isPointer == true)
        #expect(probe.field("name")?.omitsEmpty == false)
        #expect(probe.field("period")?.omitsEmpty == true)
    }

    @Test func rejectsInlineClashesAndReusedTags() {
        #expect(throws: APISchema.SchemaError.self) {
            try APISchema(sources: ["package x/v1\ntype A\n  b B 1 inline\n  c string 2\ntype B\n  c string 1\n"])
        }
        #expect(throws: APISchema.SchemaError.self) {
            try APISchema(sources: ["package x/v1\ntype A\n  b string 1 inline\n"])
        }
        #expect(throws: APISchema.SchemaError.self) {
            try APISchema(sources: ["package x/v1\ntype A\n  b string 1\n  c string 1\n"])
        }
    }

    @Test func builtInInlineEmbeddings() throws {
        let schema = APISchema.builtIn
        for (type, field, inner) in [
            ("core/v1.Probe", "httpGet", "handler"), ("core/v1.Volume", "configMap", "volumeSource"),
            ("core/v1.PersistentVolumeSpec", "csi", "persistentVolumeSource"),
            ("core/v1.EphemeralContainer", "image", "ephemeralContainerCommon"),
            ("core/v1.SecretKeySelector", "name", "localObjectReference"),
            ("admissionregistration/v1.RuleWithOperations", "apiGroups", "rule"),
            ("networking/v1.IngressRule", "http", "ingressRuleValue"),
        ] {
            let t = try #require(schema[type: type])
            #expect(t.field(field) != nil, "\(type).\(field)")
            #expect(t.declaredFields.first { $0.name == inner }?.isInline == true, "\(type).\(inner)")
        }
        #expect(schema[type: "core/v1.EphemeralContainer"]?.field("name")?.required == true)
    }
}
