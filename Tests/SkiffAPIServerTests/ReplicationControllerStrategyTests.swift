import SkiffAPIServer
import SkiffCore
import Testing

/// ReplicationController defaulting and validation, and ControllerRevision immutability.
@Suite struct ReplicationControllerStrategyTests {
    static let path = "/api/v1/namespaces/default/replicationcontrollers"

    @Test func defaultsTheSelectorFromTheTemplateAndValidatesIt() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let rc = try await s.create(Self.path, #"{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"rc"},"spec":{"template":{"metadata":{"labels":{"app":"rc"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}"#)
        #expect(rc[path: ["spec", "selector"]] == ["app": "rc"] && rc[path: ["spec", "replicas"]] == 1 && rc.labels == ["app": "rc"])
        let mismatch = await s.request("POST", Self.path, #"{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"bad"},"spec":{"selector":{"app":"other"},"template":{"metadata":{"labels":{"app":"rc"}},"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"nginx"}]}}}}"#)
        #expect(mismatch.status == 422)
        let fields = mismatch.json[path: ["details", "causes"]]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
        #expect(fields == ["spec.template.metadata.labels", "spec.template.spec.restartPolicy"])
        #expect(mismatch.json["message"]?.stringValue?.contains("selector does not match labels in spec.template") == true)
    }

    @Test func aControllerRevisionKeepsItsData() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let path = "/apis/apps/v1/namespaces/default/controllerrevisions"
        _ = try await s.create(path, #"{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"r"},"data":{"a":1},"revision":1}"#)
        #expect(await s.request("PATCH", path + "/r", #"{"revision":2}"#).status == 200)
        let changed = await s.request("PATCH", path + "/r", #"{"data":{"a":2}}"#)
        #expect(changed.status == 422)
        #expect(changed.json[path: ["details", "causes"]]?.arrayValue?.first?["field"] == "data")
        #expect(await s.request("POST", path, #"{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"n"},"revision":-1}"#).status == 422)
    }
}
