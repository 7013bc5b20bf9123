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
}
